package etcd

import (
	"errors"
	"time"

	"github.com/go-kit/log"
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

// Errors returned by the constructors and options.
var (
	// ErrNilClient is returned for a nil client.
	ErrNilClient = errors.New("etcd: nil client")
	// ErrEmptyPrefix is returned by NewPublisher for an empty prefix: the
	// whole key space is never what a service's instances live under.
	ErrEmptyPrefix = errors.New("etcd: empty key prefix")
	// ErrEmptyKey is returned by NewRegistrar for an empty key.
	ErrEmptyKey = errors.New("etcd: empty key")
	// ErrInvalidTimeout is returned for a zero or negative request timeout.
	ErrInvalidTimeout = errors.New("etcd: timeout must be positive")
	// ErrInvalidInterval is returned for a zero or negative health interval.
	ErrInvalidInterval = errors.New("etcd: interval must be positive")
	// ErrInvalidBackoff is returned by WithBackoff unless 0 < min <= max.
	ErrInvalidBackoff = errors.New("etcd: back-off needs 0 < min <= max")
	// ErrInvalidTTL is returned for a lease TTL under one second (etcd
	// counts TTLs in whole seconds).
	ErrInvalidTTL = errors.New("etcd: TTL must be at least one second")
)

// Option configures a Publisher or a Registrar. Each option says which it
// applies to; the other ignores it.
type Option func(*config) error

type config struct {
	logger         log.Logger
	timeout        time.Duration
	healthInterval time.Duration
	minBackoff     time.Duration
	maxBackoff     time.Duration
	ttl            time.Duration
	onError        func(error)
}

func newConfig(opts []Option) (config, error) {
	c := config{
		logger:         log.NewNopLogger(),
		timeout:        DefaultRequestTimeout,
		healthInterval: DefaultHealthInterval,
		minBackoff:     DefaultMinBackoff,
		maxBackoff:     DefaultMaxBackoff,
		ttl:            DefaultTTL,
	}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// WithLogger sets the logger (both). Malformed values and lost leases are
// logged at warning level, failures at error level.
func WithLogger(l log.Logger) Option {
	return func(c *config) error {
		if l != nil {
			c.logger = l
		}
		return nil
	}
}

// WithRequestTimeout bounds each request to etcd (both; default
// DefaultRequestTimeout). Register and Deregister use the caller's context
// instead when it ends sooner.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return ErrInvalidTimeout
		}
		c.timeout = d
		return nil
	}
}

// WithHealthInterval sets how often the publisher probes the cluster
// (Publisher; default DefaultHealthInterval). An outage shows as an error
// event within about this interval plus the request timeout.
func WithHealthInterval(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return ErrInvalidInterval
		}
		c.healthInterval = d
		return nil
	}
}

// WithBackoff bounds the jittered exponential wait between attempts while
// etcd fails (both; default DefaultMinBackoff to DefaultMaxBackoff).
func WithBackoff(min, max time.Duration) Option {
	return func(c *config) error {
		if min <= 0 || max < min {
			return ErrInvalidBackoff
		}
		c.minBackoff, c.maxBackoff = min, max
		return nil
	}
}

// WithTTL sets the lease TTL (Registrar; default DefaultTTL), rounded up to
// whole seconds. The key disappears about this long after the registrar's
// process dies; etcd may grant a longer TTL than asked.
func WithTTL(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Second {
			return ErrInvalidTTL
		}
		c.ttl = d
		return nil
	}
}

// WithErrorHandler sets a function that receives every error the
// registrar meets in the background: a lost lease, a failed re-registration
// (Registrar). It is called from the registrar's goroutine and should
// return quickly.
func WithErrorHandler(f func(error)) Option {
	return func(c *config) error {
		c.onError = f
		return nil
	}
}
