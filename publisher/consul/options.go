package consul

import (
	"fmt"
	"slices"
	"time"

	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/publisher"
)

// Defaults of a Publisher, each changed by the option named beside it.
const (
	// DefaultWaitTime is how long one blocking query may wait for a change
	// (WithWaitTime). It is Consul's own default.
	DefaultWaitTime = 5 * time.Minute
	// MaxWaitTime is the longest wait Consul honours.
	MaxWaitTime = 10 * time.Minute
	// QueryTimeoutGrace is added to the wait time (and to the up to 1/16
	// of it that Consul adds as jitter) to bound each query, so a
	// connection that died silently is noticed without a TCP reset.
	QueryTimeoutGrace = 10 * time.Second
	// DefaultBackoffMin and DefaultBackoffMax bound the jittered
	// exponential back-off while Consul is unreachable (WithBackoff).
	DefaultBackoffMin = 250 * time.Millisecond
	DefaultBackoffMax = 15 * time.Second
	// DefaultQueryInterval and DefaultQueryBurst shape the token bucket
	// that paces queries (WithRateLimit): a burst of quick queries, then at
	// most one per interval while results keep changing.
	DefaultQueryInterval = 100 * time.Millisecond
	DefaultQueryBurst    = 3
	// DefaultRecoveryGrace is how long after an outage (or an index that
	// went backwards) an empty result is distrusted (WithRecoveryGrace).
	// It is twice DefaultKeepInterval, the longest a Registrar with default
	// settings takes to find that its agent came back without the service
	// and register it again, so with defaults on both sides subscribers
	// never see the set empty through an agent restart.
	DefaultRecoveryGrace = 2 * DefaultKeepInterval
)

// ErrInvalidArgument is wrapped by every error the constructors, their
// options and SetStatus return for an argument they cannot use: a nil
// client, config, registration, logger or option (typed nils included), an
// empty service name, an option value out of range, a registration that
// could not be discovered or deregistered. It wraps
// publisher.ErrInvalidArgument, so errors.Is matches either.
var ErrInvalidArgument = fmt.Errorf("consul: %w", publisher.ErrInvalidArgument)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}

// Option configures a Publisher.
type Option interface {
	applyPublisher(*config) error
}

// RegistrarOption configures a Registrar.
type RegistrarOption interface {
	applyRegistrar(*registrarConfig) error
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

// WithLogger sets the logger of a Publisher (failed queries, skipped
// entries) or a Registrar (the errors of its goroutine, which also go to
// the WithErrorHandler function). The default logs nothing.
func WithLogger(l log.Logger) CommonOption { return loggerOption{l} }

type loggerOption struct{ l log.Logger }

func (o loggerOption) applyPublisher(c *config) error { return o.set(&c.logger) }

func (o loggerOption) applyRegistrar(c *registrarConfig) error { return o.set(&c.logger) }

func (o loggerOption) set(dst *log.Logger) error {
	if nilarg.IsNil(o.l) {
		return invalid("nil logger")
	}
	*dst = o.l
	return nil
}

type config struct {
	tags           []string
	filter         string
	datacenter     string
	namespace      string
	partition      string
	includeWarning bool
	allowStale     bool
	waitTime       time.Duration
	backoff        backoff.Policy
	queryEvery     time.Duration
	queryBurst     int
	recoveryGrace  time.Duration
	logger         log.Logger
	clock          clock
}

func defaultConfig() config {
	return config{
		waitTime:      DefaultWaitTime,
		backoff:       backoff.Policy{Min: DefaultBackoffMin, Max: DefaultBackoffMax, Jitter: backoff.Equal},
		queryEvery:    DefaultQueryInterval,
		queryBurst:    DefaultQueryBurst,
		recoveryGrace: DefaultRecoveryGrace,
		logger:        log.NewNopLogger(),
		clock:         realClock{},
	}
}

// WithTags keeps only instances that carry every one of tags. Consul
// filters on the server (one tag parameter per tag), so instances without
// them never cross the network.
func WithTags(tags ...string) Option {
	return publisherOption(func(c *config) error {
		if slices.Contains(tags, "") {
			return invalid("empty tag")
		}
		c.tags = append(c.tags, tags...)
		return nil
	})
}

// WithFilter sends a Consul filter expression (for example
// `Service.Meta.version == "2"`), evaluated by the server on each entry.
// A malformed expression makes every query fail with Consul's error, which
// subscribers see in Event.Err.
func WithFilter(expr string) Option {
	return publisherOption(func(c *config) error {
		c.filter = expr
		return nil
	})
}

// WithDatacenter queries datacenter dc instead of the agent's own.
func WithDatacenter(dc string) Option {
	return publisherOption(func(c *config) error {
		c.datacenter = dc
		return nil
	})
}

// WithNamespace queries namespace ns (Consul Enterprise). Without it the
// namespace of the client's configuration or of its token applies.
func WithNamespace(ns string) Option {
	return publisherOption(func(c *config) error {
		c.namespace = ns
		return nil
	})
}

// WithPartition queries admin partition p (Consul Enterprise).
func WithPartition(p string) Option {
	return publisherOption(func(c *config) error {
		c.partition = p
		return nil
	})
}

// IncludeWarning also publishes instances whose worst check is in warning,
// with their Weights.Warning as weight (none at all when that is 0), as
// Consul's DNS interface does. By default only instances whose checks all
// pass are published.
func IncludeWarning() Option {
	return publisherOption(func(c *config) error {
		c.includeWarning = true
		return nil
	})
}

// WithAllowStale lets any Consul server answer, not only the leader: less
// load on the leader and answers during an election, at the price of
// results that may lag by a few hundred milliseconds.
func WithAllowStale() Option {
	return publisherOption(func(c *config) error {
		c.allowStale = true
		return nil
	})
}

// WithWaitTime sets how long each blocking query waits for a change,
// between 1s and MaxWaitTime (default DefaultWaitTime). Shorter waits notice
// a silently dead connection sooner and cost more idle queries.
func WithWaitTime(d time.Duration) Option {
	return publisherOption(func(c *config) error {
		if d < time.Second || d > MaxWaitTime {
			return invalid("wait time %v not in [1s, %v]", d, MaxWaitTime)
		}
		c.waitTime = d
		return nil
	})
}

// WithBackoff sets the bounds of the jittered exponential back-off used
// while queries fail: the n-th consecutive failure waits a random time in
// [d/2, d] with d = min·2^(n-1), capped at max.
func WithBackoff(min, max time.Duration) Option {
	return publisherOption(func(c *config) error {
		if min <= 0 || max < min {
			return invalid("back-off [%v, %v]: needs 0 < min <= max", min, max)
		}
		c.backoff.Min, c.backoff.Max = min, max
		return nil
	})
}

// WithRateLimit paces the query loop with a token bucket: up to burst
// queries start at once, then one per every while results keep changing.
// It protects Consul from a loop that would otherwise spin when a check
// flaps. every == 0 turns the limit off.
func WithRateLimit(every time.Duration, burst int) Option {
	return publisherOption(func(c *config) error {
		if every < 0 || (every > 0 && burst < 1) {
			return invalid("rate limit every %v burst %d", every, burst)
		}
		c.queryEvery, c.queryBurst = every, burst
		return nil
	})
}

// WithRecoveryGrace sets how long after Consul becomes reachable again (or
// answers with an index lower than before, a sign of a restart without
// state) an empty result is not allowed to replace the last known
// (non-empty) set. A Consul that restarted without its state (a dev agent,
// a rebuilt cluster) answers before its registrars have registered their
// services again, and publishing that empty answer would leave the
// balancer with nothing until they do. A result with instances is always
// published at once, and so is an empty one when it persists past d. d
// should cover the registrars' refresh period (DefaultKeepInterval for
// lbkit's Registrar with defaults); d == 0 trusts every answer.
func WithRecoveryGrace(d time.Duration) Option {
	return publisherOption(func(c *config) error {
		if d < 0 {
			return invalid("recovery grace %v", d)
		}
		c.recoveryGrace = d
		return nil
	})
}
