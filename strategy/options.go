package strategy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
)

// ErrInvalidArgument is wrapped by every error the package returns for a
// bad parameter (an option, a strategy's config), so callers can test for it
// with errors.Is.
var ErrInvalidArgument = errors.New("strategy: invalid argument")

// Option configures the hosts of a HostSet (or one Host made with NewHost):
// how their statistics decay, the clock they read, and how a call's outcome
// is scored. Strategies are configured by their own typed values instead.
type Option func(*hostConfig) error

type hostConfig struct {
	window, short time.Duration
	clock         func() int64
	scorer        Scorer
	maxObs        float64 // 0: no cap
	ejection      *OutlierEjection
	slowStart     *SlowStart
	group         *healthGroup // made from the two above by newHostConfig
	tiers         groupConfig  // priority tiers and zones (tier.go)
}

func newHostConfig(opts []Option) (hostConfig, error) {
	c := hostConfig{window: DefaultWindow, short: DefaultShortWindow, clock: monotonicNow, scorer: ErrorScorer, tiers: defaultGroupConfig()}
	for _, o := range opts {
		if o == nil {
			return c, fmt.Errorf("%w: nil option", ErrInvalidArgument)
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	c.group = newHealthGroup(&c)
	return c, nil
}

// WithWindow sets the decay time constant of the long-memory statistics
// (the score and mean latency the bandit strategies read); the default is
// DefaultWindow. A window of zero or less is an error.
func WithWindow(d time.Duration) Option {
	return func(c *hostConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: window %v is not positive", ErrInvalidArgument, d)
		}
		c.window = d
		return nil
	}
}

// WithMaxObservations sets how many of its own outcomes a host's recent
// record rests on: the mean score that PeakEWMA's failure penalty and the
// EpsilonGreedy, Softmax and Thompson rankings read. The record forgets by
// how often the host is seen, not by the clock alone: each outcome weighs
// e^(-1/n) of the next when the host is seen at its usual rate, and between
// observations the record fades at the same pace, never slower than the
// long window (WithWindow). So a host seen often that turns bad loses its
// traffic within about n calls, and once shut out is tried again after
// about n of the calls it would have had, while a host seen rarely keeps
// its record until it has been seen n more times. 0 means
// DefaultMaxObservations; negative is an error.
func WithMaxObservations(n int) Option {
	return func(c *hostConfig) error {
		if n < 0 {
			return fmt.Errorf("%w: negative observation cap %d", ErrInvalidArgument, n)
		}
		c.maxObs = float64(n)
		return nil
	}
}

// WithShortWindow sets the time constant of the peak latency PeakEWMA
// reads; the default is DefaultShortWindow. A slow host's latency fades,
// and it is tried again, within a few short windows. A window of zero or
// less is an error.
func WithShortWindow(d time.Duration) Option {
	return func(c *hostConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: short window %v is not positive", ErrInvalidArgument, d)
		}
		c.short = d
		return nil
	}
}

// WithClock makes the hosts read now instead of the monotonic clock, for
// simulations that run on a clock of their own. now returns the time since
// any fixed origin; only differences matter. A nil clock is an error.
func WithClock(now func() time.Duration) Option {
	return func(c *hostConfig) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalidArgument)
		}
		c.clock = func() int64 { return int64(now()) }
		return nil
	}
}

// WithScorer sets how a call's outcome is scored (see Scorer); the default
// is ErrorScorer. A nil scorer is an error.
func WithScorer(s Scorer) Option {
	return func(c *hostConfig) error {
		if s == nil {
			return fmt.Errorf("%w: nil scorer", ErrInvalidArgument)
		}
		c.scorer = s
		return nil
	}
}

// Defaults of the strategies' configs: a zero field means the default named
// here.
const (
	// DefaultMemoize is how long the bandit strategies (EpsilonGreedy,
	// Softmax, UCB1, Thompson) reuse the table they compute from the hosts'
	// scores, as pooly does. The pick itself is then a table look-up.
	DefaultMemoize = 100 * time.Millisecond

	// DefaultFailurePenalty is PeakEWMA's failure penalty: a host's cost is
	// multiplied by exp(penalty × its recent failure rate), so with 10 a host
	// failing 10% of its calls costs e (2.7) times as much, and one failing
	// half of them about 150 times as much.
	DefaultFailurePenalty = 10.0

	// DefaultChoices is how many hosts PeakEWMA draws at random to pick
	// the cheapest of. With two, a pair of bad hosts (one failing, one
	// slow) must still send one of them the call; in the simulator's
	// reference scenario that put 1.7% of the calls on a host ten times
	// slower and doubled the 99th percentile latency, where three choices
	// matched the oracle's.
	DefaultChoices = 3

	// DefaultLeastInFlightChoices is LeastInFlight's number of choices:
	// the power of two choices.
	DefaultLeastInFlightChoices = 2

	// DefaultEpsilon is EpsilonGreedy's share of exploring picks.
	DefaultEpsilon = 0.1

	// DefaultTemperature is Softmax's temperature.
	DefaultTemperature = 0.1
)

// maxDistinctChoices is the largest number of choices PeakEWMA accepts, and
// the largest for which LeastInFlight draws its candidates without
// repetition; above it, repeats are rare enough among the many hosts such a
// number implies not to matter, and checking for them would cost more than
// they do.
const maxDistinctChoices = 8

// rngOf returns the generator a picker draws from: the runtime's per-thread
// generator (lock-free, safe for concurrent use) unless src is set.
func rngOf(src rand.Source) rng {
	if src == nil {
		return rng{}
	}
	return rng{r: rand.New(src)}
}

// invalid returns an error wrapping ErrInvalidArgument.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}

// Validate returns the error of s's config, if s has one (every strategy of
// this package does: see each type's Validate), or nil. A nil s is an error.
// HostSet calls it once, when it is made, so that pickers need no checks.
func Validate(s Strategy) error {
	if s == nil {
		return invalid("nil strategy")
	}
	if nilarg.IsNil(s) {
		return invalid("nil %T strategy", s)
	}
	if v, ok := s.(interface{ Validate() error }); ok {
		return v.Validate()
	}
	return nil
}
