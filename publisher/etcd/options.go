package etcd

import (
	"fmt"
	"time"

	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/publisher"
)

// Defaults for the options.
const (
	// DefaultRequestTimeout bounds each request (Get, Put, Grant, Delete,
	// Revoke, the health probe).
	DefaultRequestTimeout = 5 * time.Second
	// DefaultHealthInterval is how often the publisher probes the cluster.
	DefaultHealthInterval = 5 * time.Second
	// DefaultMinBackoff is the first wait between attempts while etcd
	// fails; the jittered wait doubles from there.
	DefaultMinBackoff = 100 * time.Millisecond
	// DefaultMaxBackoff is the longest wait between attempts.
	DefaultMaxBackoff = 10 * time.Second
	// DefaultTTL is the registrar's lease TTL.
	DefaultTTL = 10 * time.Second
)

// ErrInvalidArgument is wrapped by every error the constructors, options
// and EncodeValue return for an argument they cannot use: a nil client
// (typed nil included), an empty prefix or key, an instance that cannot be
// encoded, a zero or negative timeout or interval, a back-off without
// 0 < min <= max, a TTL under one second, a nil logger or handler. It wraps
// publisher.ErrInvalidArgument, so errors.Is matches either.
var ErrInvalidArgument = fmt.Errorf("etcd: %w", publisher.ErrInvalidArgument)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}

// Option configures a Publisher.
type Option interface {
	applyPublisher(*config) error
}

// RegistrarOption configures a Registrar.
type RegistrarOption interface {
	applyRegistrar(*config) error
}

// CommonOption configures a Publisher or a Registrar alike. An option that
// applies to only one of them has that one's type, so giving it to the
// other does not compile.
type CommonOption interface {
	Option
	RegistrarOption
}

type publisherOption func(*config) error

func (o publisherOption) applyPublisher(c *config) error { return o(c) }

type registrarOption func(*config) error

func (o registrarOption) applyRegistrar(c *config) error { return o(c) }

type commonOption func(*config) error

func (o commonOption) applyPublisher(c *config) error { return o(c) }
func (o commonOption) applyRegistrar(c *config) error { return o(c) }

type config struct {
	logger         log.Logger
	timeout        time.Duration
	healthInterval time.Duration
	backoff        backoff.Policy
	ttl            time.Duration
	onError        func(error)
}

func newConfig[O any](opts []O, apply func(O, *config) error) (config, error) {
	c := config{
		logger:         log.NewNopLogger(),
		timeout:        DefaultRequestTimeout,
		healthInterval: DefaultHealthInterval,
		backoff:        backoff.Policy{Min: DefaultMinBackoff, Max: DefaultMaxBackoff, Jitter: backoff.Equal},
		ttl:            DefaultTTL,
	}
	for _, o := range opts {
		if nilarg.IsNil(o) {
			return c, invalid("nil option")
		}
		if err := apply(o, &c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// WithLogger sets the logger of a Publisher or a Registrar. Malformed
// values and lost leases are logged at warning level, failures at error
// level. The default logs nothing.
func WithLogger(l log.Logger) CommonOption {
	return commonOption(func(c *config) error {
		if nilarg.IsNil(l) {
			return invalid("nil logger")
		}
		c.logger = l
		return nil
	})
}

// WithRequestTimeout bounds each request to etcd (default
// DefaultRequestTimeout). Register and Deregister use the caller's context
// instead when it ends sooner.
func WithRequestTimeout(d time.Duration) CommonOption {
	return commonOption(func(c *config) error {
		if d <= 0 {
			return invalid("request timeout %v: must be positive", d)
		}
		c.timeout = d
		return nil
	})
}

// WithBackoff bounds the jittered exponential wait between attempts while
// etcd fails (default DefaultMinBackoff to DefaultMaxBackoff): the n-th
// wait in a row is a random time in [d/2, d] with d = min·2^(n-1), capped
// at max.
func WithBackoff(min, max time.Duration) CommonOption {
	return commonOption(func(c *config) error {
		if min <= 0 || max < min {
			return invalid("back-off [%v, %v]: needs 0 < min <= max", min, max)
		}
		c.backoff.Min, c.backoff.Max = min, max
		return nil
	})
}

// WithHealthInterval sets how often the publisher probes the cluster
// (default DefaultHealthInterval). An outage shows as an error event within
// about this interval plus the request timeout.
func WithHealthInterval(d time.Duration) Option {
	return publisherOption(func(c *config) error {
		if d <= 0 {
			return invalid("health interval %v: must be positive", d)
		}
		c.healthInterval = d
		return nil
	})
}

// WithTTL sets the registrar's lease TTL (default DefaultTTL), rounded up
// to whole seconds. The key disappears about this long after the
// registrar's process dies; etcd may grant a longer TTL than asked. etcd
// counts TTLs in whole seconds, so less than one second is refused. Every
// accepted TTL survives an etcd restart with a *clientv3.Client of default
// settings (see the package documentation, Registrar).
func WithTTL(d time.Duration) RegistrarOption {
	return registrarOption(func(c *config) error {
		if d < time.Second {
			return invalid("TTL %v: must be at least one second", d)
		}
		c.ttl = d
		return nil
	})
}

// WithErrorHandler sets a function that receives every error the
// registrar meets in the background: a lost lease, a failed
// re-registration, a failed deregistration on Stop. It is called from the
// registrar's goroutine (or Stop's) and should return quickly.
func WithErrorHandler(f func(error)) RegistrarOption {
	return registrarOption(func(c *config) error {
		if f == nil {
			return invalid("nil error handler")
		}
		c.onError = f
		return nil
	})
}
