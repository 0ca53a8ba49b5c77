package retry

import (
	"fmt"
	"math"
	"time"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
)

// Defaults of New.
const (
	// DefaultMaxAttempts is the number of attempts a call makes at most,
	// the first included.
	DefaultMaxAttempts = 3
	// DefaultHedgeCap is the fraction of recent requests that may be
	// hedged, when hedging is on.
	DefaultHedgeCap = 0.1
)

// Option configures a Retrier. Options that get a bad value make New
// return an error wrapping ErrInvalidArgument.
type Option func(*config) error

type config struct {
	maxAttempts    int // 0: no limit (RetryWithCallback)
	timeout        time.Duration
	attemptTimeout time.Duration
	backoff        backoff.Policy   // zero Min: no back-off
	retryable      func(error) bool // nil: every error
	budget         *Budget
	noBudget       bool
	avoid          bool
	pace           bool // Retry and RetryWithCallback: see ImmediateRetries
	hedgeDelay     time.Duration
	hedgeP         float64 // > 0: hedge after this tracked percentile
	hedgeInitial   time.Duration
	hedgeCap       float64
	callback       Callback
	observer       func(Attempt)
	tracer         Tracer

	metrics *Metrics
}

func defaultConfig() config {
	return config{
		maxAttempts: DefaultMaxAttempts,
		backoff:     fullJitter(DefaultBackoffBase, DefaultBackoffCap),
		retryable:   Retryable,
		avoid:       true,
		hedgeCap:    DefaultHedgeCap,
	}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}

// WithMaxAttempts sets how many attempts a call makes at most, the first
// and any hedges included. n must be at least 1. Default
// DefaultMaxAttempts.
func WithMaxAttempts(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("max attempts %d, need at least 1", n)
		}
		c.maxAttempts = n
		return nil
	}
}

// WithTimeout bounds each call, all attempts and waits included. The
// caller's context still applies when its deadline is earlier. Zero (the
// default) means only the caller's context bounds the call; a negative
// timeout is an error.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return invalid("negative timeout %v", d)
		}
		c.timeout = d
		return nil
	}
}

// WithAttemptTimeout bounds each attempt: an attempt still running after d
// sees its context's deadline pass, fails with context.DeadlineExceeded,
// and may be retried while the call's own deadline allows. Zero (the
// default) means no bound per attempt; negative is an error.
func WithAttemptTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return invalid("negative attempt timeout %v", d)
		}
		c.attemptTimeout = d
		return nil
	}
}

// WithBackoff sets the capped exponential back-off with full jitter
// between attempts: before retry k the call waits a random duration
// between zero and min(ceiling, base·2^(k-1)). A wait that would end past
// the call's deadline is not started: the call ends at once with
// context.DeadlineExceeded. base must be positive and ceiling at least
// base. Defaults DefaultBackoffBase and DefaultBackoffCap.
func WithBackoff(base, ceiling time.Duration) Option {
	return func(c *config) error {
		if base <= 0 || ceiling < base {
			return invalid("back-off base %v, cap %v: need 0 < base <= cap", base, ceiling)
		}
		c.backoff = fullJitter(base, ceiling)
		return nil
	}
}

// WithoutBackoff retries at once after a failure. The short waits after
// ErrNoEndpoints remain (see NoEndpointsBackoffMin).
func WithoutBackoff() Option {
	return func(c *config) error {
		c.backoff = backoff.Policy{}
		return nil
	}
}

// WithClassifier sets which errors are worth another attempt: retryable
// reports true for those. The default is Retryable (everything except
// errors marked with Permanent). Whatever the classifier says, a call stops
// once the caller's context is done.
func WithClassifier(retryable func(err error) bool) Option {
	return func(c *config) error {
		if retryable == nil {
			return invalid("nil classifier")
		}
		c.retryable = retryable
		return nil
	}
}

// WithBudget makes the Retrier draw its retries from b, which may be shared
// with other Retriers. By default each Retrier has its own budget with
// DefaultBudgetRatio, DefaultBudgetMinPerSecond and DefaultBudgetWindow.
func WithBudget(b *Budget) Option {
	return func(c *config) error {
		if b == nil {
			return invalid("nil budget")
		}
		c.budget, c.noBudget = b, false
		return nil
	}
}

// WithoutBudget lets every call retry up to its max attempts whatever the
// others do. Under an outage that multiplies the load on the backends by
// the number of attempts; prefer a generous budget.
func WithoutBudget() Option {
	return func(c *config) error {
		c.budget, c.noBudget = nil, true
		return nil
	}
}

// WithoutHostAvoidance makes retries and hedges ask the balancer's plain
// Endpoint even when it is an EndpointAvoider, so that they may land on a
// host that the call has tried already (go-kit's behaviour).
func WithoutHostAvoidance() Option {
	return func(c *config) error {
		c.avoid = false
		return nil
	}
}

// WithHedging turns on hedging with a fixed delay: when an attempt has not
// answered after delay, another attempt starts (on another host, with an
// EndpointAvoider), up to the max attempts; the first success wins and the
// others are cancelled. Use it only for idempotent calls: several attempts
// of one call may run, and complete, at once. Hedges are capped by
// WithHedgeCap. Attempts then run in goroutines of their own; Close waits
// for them.
func WithHedging(delay time.Duration) Option {
	return func(c *config) error {
		if delay <= 0 {
			return invalid("hedging delay %v, need > 0", delay)
		}
		c.hedgeDelay, c.hedgeP = delay, 0
		return nil
	}
}

// WithHedgingPercentile is WithHedging with a delay that follows the
// latency of recent successful attempts: the hedge starts when an attempt
// has run longer than the given percentile (0.95 for p95) of them. Until
// LatencyMinSamples attempts have succeeded, the delay is initial.
func WithHedgingPercentile(percentile float64, initial time.Duration) Option {
	return func(c *config) error {
		if !(percentile > 0 && percentile < 1) {
			return invalid("hedging percentile %v, need 0 < p < 1", percentile)
		}
		if initial <= 0 {
			return invalid("initial hedging delay %v, need > 0", initial)
		}
		c.hedgeP, c.hedgeInitial, c.hedgeDelay = percentile, initial, 0
		return nil
	}
}

// WithHedgeCap bounds hedges to a fraction of the recent requests (over
// DefaultBudgetWindow): when the hedges sent reach it, calls wait for their
// attempts instead. Default DefaultHedgeCap.
func WithHedgeCap(ratio float64) Option {
	return func(c *config) error {
		if !(ratio >= 0) || math.IsInf(ratio, 0) {
			return invalid("hedge cap %v", ratio)
		}
		c.hedgeCap = ratio
		return nil
	}
}

// WithCallback calls cb after every failed attempt, with go-kit's
// semantics: n counts attempts from 1; returning false stops the call;
// a non-nil replacement takes the place of the received error as the
// call's Final error should the call end there. The other limits (max
// attempts, classifier, budget, deadline) still apply.
func WithCallback(cb Callback) Option {
	return func(c *config) error {
		if cb == nil {
			return invalid("nil callback")
		}
		c.callback = cb
		return nil
	}
}

// WithObserver calls observe after every attempt, the successful one
// included, from the goroutine that made the call; for logs and metrics.
// It must not block.
func WithObserver(observe func(Attempt)) Option {
	return func(c *config) error {
		if observe == nil {
			return invalid("nil observer")
		}
		c.observer = observe
		return nil
	}
}
