package strategy_test

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

func hosts(tb testing.TB, weights ...int) []*strategy.Host {
	tb.Helper()
	out := make([]*strategy.Host, len(weights))
	for i, w := range weights {
		out[i] = newHost(tb, fmt.Sprintf("h%d:1", i), w)
	}
	return out
}

func counts(p strategy.Picker, n, picks int) []int {
	c := make([]int, n)
	for range picks {
		c[p.Pick()]++
	}
	return c
}

// simple are the strategies that ignore outcomes.
var simple = []strategy.Strategy{
	strategy.Random{}, strategy.RoundRobin{},
	strategy.Random{Weighted: true}, strategy.RoundRobin{Weighted: true},
}

func TestEmptyAndSingle(t *testing.T) {
	for _, s := range append(simple, learningStrategies(t)...) {
		if i := s.NewPicker(nil).Pick(); i != -1 {
			t.Errorf("%s over no hosts picked %d", s.Name(), i)
		}
		if i := s.NewPicker(hosts(t, 3)).Pick(); i != 0 {
			t.Errorf("%s over one host picked %d", s.Name(), i)
		}
	}
}

func TestRoundRobinCycles(t *testing.T) {
	p := strategy.RoundRobin{}.NewPicker(hosts(t, 1, 1, 1))
	first := p.Pick()
	for i := 1; i < 9; i++ {
		if got, want := p.Pick(), (first+i)%3; got != want {
			t.Fatalf("pick %d = %d, want %d", i, got, want)
		}
	}
}

func TestRandomIsUniform(t *testing.T) {
	c := counts(strategy.Random{}.NewPicker(hosts(t, 1, 1, 1, 1)), 4, 40000)
	for i, n := range c {
		if n < 9000 || n > 11000 {
			t.Fatalf("host %d got %d of 40000 picks, want about 10000: %v", i, n, c)
		}
	}
	// Unweighted, the weights do not matter.
	c = counts(strategy.Random{}.NewPicker(hosts(t, 1, 9)), 2, 20000)
	if c[0] < 9000 || c[0] > 11000 {
		t.Fatalf("unweighted random honoured weights: %v", c)
	}
}

func TestWeightedRandomHonoursWeights(t *testing.T) {
	c := counts(strategy.Random{Weighted: true}.NewPicker(hosts(t, 1, 3, 6)), 3, 100000)
	for i, want := range []float64{0.1, 0.3, 0.6} {
		if got := float64(c[i]) / 100000; math.Abs(got-want) > 0.01 {
			t.Fatalf("host %d share %.3f, want %.1f: %v", i, got, want, c)
		}
	}
}

func TestWeightedRoundRobinIsExactAndSmooth(t *testing.T) {
	p := strategy.RoundRobin{Weighted: true}.NewPicker(hosts(t, 2, 6, 4))
	// weights divide by 2: one cycle is 1+3+2 = 6 picks.
	c := counts(p, 3, 600)
	if c[0] != 100 || c[1] != 300 || c[2] != 200 {
		t.Fatalf("counts %v, want exactly [100 300 200]", c)
	}
	// Smooth: the heaviest host never runs more than twice in a row.
	run, prev := 0, -1
	for range 60 {
		i := p.Pick()
		if i == prev {
			run++
		} else {
			run = 1
		}
		prev = i
		if run > 2 {
			t.Fatal("weighted round robin bunches picks")
		}
	}
	// Unweighted, every host gets its turn.
	if c := counts(strategy.RoundRobin{}.NewPicker(hosts(t, 2, 6, 4)), 3, 600); c[0] != 200 || c[1] != 200 {
		t.Fatalf("unweighted round robin honoured weights: %v", c)
	}
}

func TestWeightedRoundRobinHugeWeights(t *testing.T) {
	ws := make([]int, 100)
	for i := range ws {
		ws[i] = 1_000_000 + i*7919 // coprime-ish: no common divisor to save us
	}
	ws[0] = 1
	c := counts(strategy.RoundRobin{Weighted: true}.NewPicker(hosts(t, ws...)), 100, 1<<17)
	if c[0] == 0 {
		t.Fatal("lightest host starved; every host must keep a slot")
	}
	if c[99] < 1000 {
		t.Fatalf("heavy host got %d picks", c[99])
	}
}

func TestEqualWeightsFallBackToUnweighted(t *testing.T) {
	if got := counts(strategy.RoundRobin{Weighted: true}.NewPicker(hosts(t, 5, 5)), 2, 10); got[0] != 5 {
		t.Fatalf("equal weights: %v", got)
	}
}

func TestPickersAreConcurrentAndAllocationFree(t *testing.T) {
	hs := hosts(t, 1, 2, 3, 4, 5)
	for _, s := range simple {
		p := s.NewPicker(hs)
		if n := testing.AllocsPerRun(1000, func() { p.Pick() }); n != 0 {
			t.Errorf("%s allocates %v per pick", s.Name(), n)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 1000 {
					if i := p.Pick(); i < 0 || i >= len(hs) {
						t.Errorf("%s picked %d", s.Name(), i)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
}

// first is a user's own strategy: always the first host.
type first struct{}

func (first) Name() string { return "first" }
func (first) NewPicker(hosts []*strategy.Host) strategy.Picker {
	if len(hosts) == 0 {
		return pickerFunc(func() int { return -1 })
	}
	return pickerFunc(func() int { return 0 })
}

type pickerFunc func() int

func (f pickerFunc) Pick() int { return f() }

// nilable is a strategy with a pointer receiver, to be passed as a typed
// nil.
type nilable struct{}

func (*nilable) Name() string { return "nilable" }
func (*nilable) NewPicker([]*strategy.Host) strategy.Picker {
	return pickerFunc(func() int { return -1 })
}

func TestUserStrategy(t *testing.T) {
	if err := strategy.Validate(first{}); err != nil {
		t.Fatalf("a strategy without Validate: %v", err)
	}
	set, err := strategy.NewHostSet[int](first{})
	if err != nil {
		t.Fatal(err)
	}
	set.Update([]strategy.Member[int]{{Host: set.NewHost("a:1", 1), Value: 1}, {Host: set.NewHost("b:1", 1), Value: 2}}, nil)
	if m, err := set.Pick(nil); err != nil || m.Value != 1 || set.Strategy().Name() != "first" {
		t.Fatalf("user strategy: %v, %v", m.Value, err)
	}
}

func TestStrategyNames(t *testing.T) {
	for _, tc := range []struct {
		s    strategy.Strategy
		want string
	}{
		{strategy.Random{}, "random"},
		{strategy.Random{Weighted: true}, "weighted-random"},
		{strategy.RoundRobin{}, "round-robin"},
		{strategy.RoundRobin{Weighted: true}, "weighted-round-robin"},
		{strategy.EpsilonGreedy{}, "epsilon-greedy(0.1)"},
		{strategy.EpsilonGreedy{Epsilon: 0.05}, "epsilon-greedy(0.05)"},
		{strategy.Softmax{}, "softmax(0.1)"},
		{strategy.Softmax{Temperature: 0.25}, "softmax(0.25)"},
		{strategy.UCB1{}, "ucb1"},
		{strategy.Thompson{}, "thompson"},
		{strategy.LeastInFlight{}, "p2c"},
		{strategy.LeastInFlight{Choices: 2}, "p2c"},
		{strategy.LeastInFlight{Choices: 3}, "least-in-flight(3)"},
		{strategy.PeakEWMA{}, "peak-ewma"},
		{strategy.PeakEWMA{Choices: strategy.DefaultChoices}, "peak-ewma"},
		{strategy.PeakEWMA{Classic: true}, "peak-ewma(classic)"},
		{strategy.PeakEWMA{Classic: true, Choices: 2}, "peak-ewma(classic,k=2)"},
		{strategy.PeakEWMA{Choices: 5}, "peak-ewma(k=5)"},
	} {
		if got := tc.s.Name(); got != tc.want {
			t.Errorf("%#v: name %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestZeroValuesAreValid(t *testing.T) {
	for _, s := range []strategy.Strategy{
		strategy.Random{}, strategy.RoundRobin{}, strategy.LeastInFlight{}, strategy.PeakEWMA{},
		strategy.EpsilonGreedy{}, strategy.Softmax{}, strategy.UCB1{}, strategy.Thompson{},
		// Pointers to configs are strategies too.
		&strategy.PeakEWMA{}, &strategy.Softmax{},
		// The edges of every range.
		strategy.EpsilonGreedy{Epsilon: 1}, strategy.LeastInFlight{Choices: 1000},
		strategy.PeakEWMA{Choices: 8, FailurePenalty: 1e6, Exploration: 0.999, InitialLatency: time.Hour},
		strategy.Softmax{Temperature: 1e-9, Bandit: strategy.Bandit{Memoize: time.Nanosecond}},
	} {
		if err := strategy.Validate(s); err != nil {
			t.Errorf("%#v: %v", s, err)
		}
		if _, err := strategy.NewHostSet[int](s); err != nil {
			t.Errorf("NewHostSet(%#v): %v", s, err)
		}
	}
}

func TestValidateRejectsEveryBadField(t *testing.T) {
	neg := strategy.Bandit{Memoize: -time.Second}
	for name, s := range map[string]strategy.Strategy{
		"nil":                     nil,
		"typed nil config":        (*strategy.PeakEWMA)(nil),
		"typed nil user strategy": (*nilable)(nil),

		"epsilon below 0":       strategy.EpsilonGreedy{Epsilon: -0.1},
		"epsilon above 1":       strategy.EpsilonGreedy{Epsilon: 1.5},
		"epsilon NaN":           strategy.EpsilonGreedy{Epsilon: math.NaN()},
		"epsilon-greedy memo":   strategy.EpsilonGreedy{Bandit: neg},
		"temperature negative":  strategy.Softmax{Temperature: -1},
		"temperature infinite":  strategy.Softmax{Temperature: math.Inf(1)},
		"temperature -infinite": strategy.Softmax{Temperature: math.Inf(-1)},
		"temperature NaN":       strategy.Softmax{Temperature: math.NaN()},
		"softmax memo":          strategy.Softmax{Bandit: neg},
		"ucb1 memo":             strategy.UCB1{Bandit: neg},
		"thompson memo":         strategy.Thompson{Bandit: neg},
		"pointer to bad config": &strategy.Thompson{Bandit: neg},

		"least-in-flight choices negative": strategy.LeastInFlight{Choices: -2},

		"peak-ewma choices negative":    strategy.PeakEWMA{Choices: -1},
		"peak-ewma choices 9":           strategy.PeakEWMA{Choices: 9},
		"peak-ewma negative penalty":    strategy.PeakEWMA{FailurePenalty: -1},
		"peak-ewma infinite penalty":    strategy.PeakEWMA{FailurePenalty: math.Inf(1)},
		"peak-ewma NaN penalty":         strategy.PeakEWMA{FailurePenalty: math.NaN()},
		"peak-ewma exploration 1":       strategy.PeakEWMA{Exploration: 1},
		"peak-ewma exploration below 0": strategy.PeakEWMA{Exploration: -0.1},
		"peak-ewma exploration NaN":     strategy.PeakEWMA{Exploration: math.NaN()},
		"peak-ewma negative latency":    strategy.PeakEWMA{InitialLatency: -time.Millisecond},
	} {
		if err := strategy.Validate(s); !errors.Is(err, strategy.ErrInvalidArgument) {
			t.Errorf("%s: Validate gave %v; want an error wrapping ErrInvalidArgument", name, err)
		}
		if set, err := strategy.NewHostSet[int](s); !errors.Is(err, strategy.ErrInvalidArgument) || set != nil {
			t.Errorf("%s: NewHostSet gave %v, %v; want nil and an error wrapping ErrInvalidArgument", name, set, err)
		}
	}
}
