package loadbalancer

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// ErrInvalidArgument is wrapped by every error New returns for a bad
// argument or option, so callers can test for it with errors.Is.
var ErrInvalidArgument = errors.New("loadbalancer: invalid argument")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}

// Middleware decorates the endpoint of a new instance once, when the
// balancer creates it, for example to add a per-host circuit breaker or
// rate limit. It runs inside the outcome recording, so what it does counts
// in the host's latency and score.
type Middleware func(in publisher.Instance, next endpoint.Endpoint) endpoint.Endpoint

// Option configures a Balancer.
type Option func(*config) error

type config struct {
	strategy        strategy.Strategy
	hostOpts        []strategy.Option
	logger          log.Logger
	middlewares     []Middleware
	invalidate      bool
	invalidateAfter time.Duration
	metrics         *Metrics
	watchers        []HostWatcher
}

// WithStrategy sets how the balancer picks an instance per request. The
// default is strategy.PeakEWMA{}, which learns from every call's latency
// and outcome; strategy.RoundRobin{} and strategy.Random{} are go-kit's
// lb.NewRoundRobin and lb.NewRandom. A nil or invalid strategy is an error.
func WithStrategy(s strategy.Strategy) Option {
	return func(c *config) error {
		if err := strategy.Validate(s); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
		}
		c.strategy = s
		return nil
	}
}

// WithHostOptions configures the statistics the balancer keeps per
// instance: strategy.WithScorer (how a call's outcome is scored; the
// default is strategy.ErrorScorer, strategy.LatencyScorer rates speed too),
// strategy.WithWindow and strategy.WithShortWindow (how fast the balancer
// forgets), strategy.WithOutlierEjection (eject failing instances for a
// while, under any strategy) and strategy.WithSlowStart (ramp new and
// returning instances up to their full share). A bad option is an error.
func WithHostOptions(opts ...strategy.Option) Option {
	return func(c *config) error {
		for _, o := range opts {
			if o == nil {
				return invalid("nil host option")
			}
		}
		c.hostOpts = append(c.hostOpts, opts...)
		return nil
	}
}

// WithLogger sets the logger for discovery, factory and closer problems. The
// default discards them.
func WithLogger(l log.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return invalid("nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithInvalidateOnError drops (and closes) every endpoint once discovery
// has been failing for timeout, as go-kit's sd.InvalidateOnError does; a
// timeout of zero drops them at the first error. By default the last known
// endpoints are kept for as long as discovery fails.
func WithInvalidateOnError(timeout time.Duration) Option {
	return func(c *config) error {
		if timeout < 0 {
			return invalid("negative invalidation timeout %v", timeout)
		}
		c.invalidate, c.invalidateAfter = true, timeout
		return nil
	}
}

// WithEndpointMiddleware decorates each instance's endpoint with m, once,
// when the instance appears. Middlewares run inside the outcome recording
// (so what they do counts in the host's latency and score) in the order
// given: the first is outermost.
func WithEndpointMiddleware(m Middleware) Option {
	return func(c *config) error {
		if m == nil {
			return invalid("nil endpoint middleware")
		}
		c.middlewares = append(c.middlewares, m)
		return nil
	}
}
