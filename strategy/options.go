package strategy

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// ErrInvalidArgument is wrapped by every error that a constructor or an
// Option returns for a bad parameter, so callers can test for it with
// errors.Is.
var ErrInvalidArgument = errors.New("strategy: invalid argument")

// Defaults of the learning strategies' options.
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

	// DefaultExploration is the share of PeakEWMA's picks that go to a host
	// chosen uniformly at random. It is zero because PeakEWMA explores
	// without it: a host it shuts out is observed less and less, so its
	// record fades back towards blameless and cheap until it is tried
	// again (see NewPeakEWMA). The simulator found that random exploration
	// only added failed calls, and slowed recoveries by keeping a bad host's
	// record fresh.
	DefaultExploration = 0.0

	// DefaultChoices is how many hosts PeakEWMA draws at random to pick
	// the cheapest of. With two, a pair of bad hosts (one failing, one
	// slow) must still send one of them the call; in the simulator's
	// reference scenario that put 1.7% of the calls on a host ten times
	// slower and doubled the 99th percentile latency, where three choices
	// matched the oracle's.
	DefaultChoices = 3
)

// Option configures a learning strategy. Each option documents the
// strategies it applies to; a constructor given an option that does not
// apply to it returns an error wrapping ErrInvalidArgument.
type Option func(*config) error

// optionKind marks which options were given, so that a constructor can
// refuse the ones that do not apply to it.
type optionKind uint16

const (
	optClock optionKind = 1 << iota
	optRand
	optMemoize
	optScoreFunc
	optInitialLatency
	optFailurePenalty
	optExploration
	optChoices
	optKinds = iota
)

var optionNames = [optKinds]string{
	"WithPickerClock", "WithRand", "WithMemoize", "WithScoreFunc",
	"WithInitialLatency", "WithFailurePenalty", "WithExploration", "WithChoices",
}

const (
	commonOptions = optClock | optRand
	banditOptions = commonOptions | optMemoize | optScoreFunc
)

type config struct {
	set     optionKind
	clock   Clock
	rng     rng
	memo    time.Duration
	score   ScoreFunc
	initial time.Duration
	penalty float64
	explore float64
	choices int
}

func newConfig(name string, allowed optionKind, opts []Option) (config, error) {
	c := config{memo: DefaultMemoize, penalty: DefaultFailurePenalty, explore: DefaultExploration, choices: DefaultChoices}
	for _, o := range opts {
		if o == nil {
			return c, fmt.Errorf("%w: nil option for %s", ErrInvalidArgument, name)
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	if extra := c.set &^ allowed; extra != 0 {
		var names []string
		for i, n := range optionNames {
			if extra&(1<<i) != 0 {
				names = append(names, n)
			}
		}
		return c, fmt.Errorf("%w: %s not applicable to %s", ErrInvalidArgument, strings.Join(names, ", "), name)
	}
	return c, nil
}

// clockFor returns the configured clock, or else the hosts' own, so that a
// picker decays statistics on the same time scale as they were recorded.
func (c *config) clockFor(hosts []*Stats) Clock {
	if c.clock != nil {
		return c.clock
	}
	if len(hosts) > 0 {
		return hosts[0].clock
	}
	return MonotonicClock
}

// WithPickerClock sets the clock a bandit picker (EpsilonGreedy, Softmax,
// UCB1, Thompson) reads to age its memoized table and to decay the hosts'
// statistics. By default it is the clock of the hosts' Stats (see
// WithClock); any other must count the same time, since the picker compares
// its readings with the hosts' observation times. A nil clock is an error.
// Every learning strategy accepts it, so that a simulation can configure
// them alike, but PeakEWMA and LeastInFlight read no clock: PeakEWMA
// measures time by its hosts' observations, and LeastInFlight needs none.
func WithPickerClock(c Clock) Option {
	return func(cfg *config) error {
		if c == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalidArgument)
		}
		cfg.clock, cfg.set = c, cfg.set|optClock
		return nil
	}
}

// WithRand makes a picker draw its random numbers from src instead of the
// runtime's per-thread generator, for simulations and tests that must be
// repeatable for a seed. The pickers call src from whichever goroutine picks,
// so src must be safe for concurrent use unless only one goroutine picks
// (the common seeded sources, such as rand.PCG, are not). A nil source is an
// error. It applies to every learning strategy.
func WithRand(src rand.Source) Option {
	return func(cfg *config) error {
		if src == nil {
			return fmt.Errorf("%w: nil random source", ErrInvalidArgument)
		}
		cfg.rng, cfg.set = rng{r: rand.New(src)}, cfg.set|optRand
		return nil
	}
}

// WithMemoize sets how long a bandit strategy (EpsilonGreedy, Softmax, UCB1,
// Thompson) reuses the table it computes from the hosts' scores; the
// default is DefaultMemoize. Zero recomputes it on every pick, which costs
// time proportional to the number of hosts. A negative duration is an error.
func WithMemoize(d time.Duration) Option {
	return func(cfg *config) error {
		if d < 0 {
			return fmt.Errorf("%w: negative memoization interval %v", ErrInvalidArgument, d)
		}
		cfg.memo, cfg.set = d, cfg.set|optMemoize
		return nil
	}
}

// WithScoreFunc sets the function a bandit strategy (EpsilonGreedy,
// Softmax, UCB1, Thompson) applies to each host's decayed mean score before
// ranking it, as pooly's Computer does. A nil function is an error.
func WithScoreFunc(f ScoreFunc) Option {
	return func(cfg *config) error {
		if f == nil {
			return fmt.Errorf("%w: nil score function", ErrInvalidArgument)
		}
		cfg.score, cfg.set = f, cfg.set|optScoreFunc
		return nil
	}
}

// WithInitialLatency sets the latency PeakEWMA assumes for a host before its
// first observation. By default a new host is assumed to be as fast as the
// fastest observed host it is compared with, so that it gets traffic at once
// and is judged by its load until its first answer. A high initial latency keeps
// new hosts out until the others are busy; a latency of zero or less is an
// error.
func WithInitialLatency(d time.Duration) Option {
	return func(cfg *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: initial latency %v is not positive", ErrInvalidArgument, d)
		}
		cfg.initial, cfg.set = d, cfg.set|optInitialLatency
		return nil
	}
}

// WithFailurePenalty sets how strongly PeakEWMA avoids hosts that fail:
// their cost is multiplied by exp(penalty × recent failure rate). The default
// is DefaultFailurePenalty; zero gives the classic peak EWMA of Finagle and
// linkerd, which sees only latency and load. A negative, infinite or NaN
// penalty is an error.
func WithFailurePenalty(penalty float64) Option {
	return func(cfg *config) error {
		if penalty < 0 || math.IsInf(penalty, 0) || math.IsNaN(penalty) {
			return fmt.Errorf("%w: failure penalty %v is not a finite number ≥ 0", ErrInvalidArgument, penalty)
		}
		cfg.penalty, cfg.set = penalty, cfg.set|optFailurePenalty
		return nil
	}
}

// WithExploration sets the share of PeakEWMA's picks that go to a host
// chosen uniformly at random; the default is DefaultExploration. A share
// outside [0, 1) is an error.
func WithExploration(share float64) Option {
	return func(cfg *config) error {
		if !(share >= 0 && share < 1) {
			return fmt.Errorf("%w: exploration share %v outside [0,1)", ErrInvalidArgument, share)
		}
		cfg.explore, cfg.set = share, cfg.set|optExploration
		return nil
	}
}

// WithChoices sets how many distinct hosts PeakEWMA draws at random to pick
// the cheapest of; the default is DefaultChoices. More choices shut bad
// hosts out more surely (with two, a pair of two bad hosts must still send
// one of them the call) at the price of reading more statistics per pick and
// of herding: concurrent picks agree more on the cheapest. A number below 1 or
// above 8 is an error.
func WithChoices(k int) Option {
	return func(cfg *config) error {
		if k < 1 || k > maxDistinctChoices {
			return fmt.Errorf("%w: %d choices outside [1,%d]", ErrInvalidArgument, k, maxDistinctChoices)
		}
		cfg.choices, cfg.set = k, cfg.set|optChoices
		return nil
	}
}
