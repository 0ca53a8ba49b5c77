package strategy_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// lrnClock is the simulated time of the learning tests.
type lrnClock struct{ now int64 }

func (c *lrnClock) read() int64 { return c.now }

// lrnHosts returns n hosts on clk with short windows, so that the tests see
// learning and forgetting within seconds of simulated time.
func lrnHosts(n int, clk *lrnClock) []*strategy.Stats {
	hs := make([]*strategy.Stats, n)
	for i := range hs {
		hs[i] = strategy.NewStats(fmt.Sprintf("h%d:80", i), 1,
			strategy.WithClock(clk.read), strategy.WithWindow(2*time.Second), strategy.WithShortWindow(time.Second))
	}
	return hs
}

// outcome is the truth about one call to host i.
type outcome func(i int) (latency time.Duration, failed bool)

// lrnDrive makes one call per step of simulated time for d, each to the host
// p picks, records its outcome and returns how many calls each host got.
func lrnDrive(p strategy.Picker, hs []*strategy.Stats, clk *lrnClock, d, step time.Duration, out outcome) []int {
	got := make([]int, len(hs))
	for end := clk.now + int64(d); clk.now < end; {
		i := p.Pick()
		got[i]++
		lat, failed := out(i)
		clk.now += int64(step)
		score := strategy.HostUp
		if failed {
			score = strategy.HostDown
		}
		hs[i].Observe(clk.now, lat, failed, score)
	}
	return got
}

func share(got []int, i int) float64 {
	total := 0
	for _, n := range got {
		total += n
	}
	return float64(got[i]) / float64(total)
}

func seeded(seed uint64) strategy.Option { return strategy.WithRand(rand.NewPCG(seed, seed+1)) }

// must turns a constructor's result into its strategy, failing t on error.
func must(t testing.TB) func(strategy.Strategy, error) strategy.Strategy {
	return func(s strategy.Strategy, err error) strategy.Strategy {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// learners are the strategies that learn from outcomes, seeded.
func learners(t testing.TB) []strategy.Strategy {
	return []strategy.Strategy{
		must(t)(strategy.NewEpsilonGreedy(0.1, seeded(1))),
		must(t)(strategy.NewSoftmax(0.1, seeded(2))),
		must(t)(strategy.NewUCB1(seeded(3))),
		must(t)(strategy.NewThompson(seeded(4))),
		must(t)(strategy.NewPeakEWMA(seeded(5))),
	}
}

func TestLearnersShunAFailingHostAndTakeItBackWhenItRecovers(t *testing.T) {
	for _, s := range learners(t) {
		t.Run(s.Name(), func(t *testing.T) {
			clk := &lrnClock{now: 1}
			hs := lrnHosts(5, clk)
			p := s.NewPicker(hs)
			broken := true
			out := func(i int) (time.Duration, bool) { return time.Millisecond, i == 0 && broken }

			lrnDrive(p, hs, clk, 8*time.Second, time.Millisecond, out)
			if got := lrnDrive(p, hs, clk, 2*time.Second, time.Millisecond, out); share(got, 0) > 0.05 {
				t.Errorf("while failing, host 0 got %.1f%% of the calls (%v), want under 5%%", 100*share(got, 0), got)
			}

			broken = false
			lrnDrive(p, hs, clk, 25*time.Second, time.Millisecond, out)
			if got := lrnDrive(p, hs, clk, 5*time.Second, time.Millisecond, out); share(got, 0) < 0.10 {
				t.Errorf("after recovering, host 0 got %.1f%% of the calls (%v), want at least half its fair 20%%", 100*share(got, 0), got)
			}
		})
	}
}

func TestLearnersTryNewHosts(t *testing.T) {
	for _, s := range learners(t) {
		t.Run(s.Name(), func(t *testing.T) {
			clk := &lrnClock{now: 1}
			hs := lrnHosts(4, clk)
			ok := func(int) (time.Duration, bool) { return time.Millisecond, false }
			lrnDrive(s.NewPicker(hs[:3]), hs[:3], clk, 3*time.Second, time.Millisecond, ok)
			// Host 3 joins: a new picker over the four.
			got := lrnDrive(s.NewPicker(hs), hs, clk, 5*time.Second, time.Millisecond, ok)
			if share(got, 3) < 0.10 {
				t.Errorf("a new healthy host got %.1f%% of the calls (%v), want at least 10%%", 100*share(got, 3), got)
			}
		})
	}
}

func TestPeakEWMAAvoidsSlowHost(t *testing.T) {
	clk := &lrnClock{now: 1}
	hs := lrnHosts(4, clk)
	p := must(t)(strategy.NewPeakEWMA(seeded(7))).NewPicker(hs)
	out := func(i int) (time.Duration, bool) {
		if i == 0 {
			return 10 * time.Millisecond, false
		}
		return time.Millisecond, false
	}
	lrnDrive(p, hs, clk, time.Second, time.Millisecond, out)
	if got := lrnDrive(p, hs, clk, 5*time.Second, time.Millisecond, out); share(got, 0) > 0.05 {
		t.Fatalf("the 10× slower host got %.1f%% of the calls (%v), want under 5%%", 100*share(got, 0), got)
	}
}

func TestPeakEWMAPenalisesFastFailures(t *testing.T) {
	// Host 0 fails in a tenth of the time the others take to succeed: a
	// latency-only balancer is drawn to it, lbkit's default is not.
	out := func(i int) (time.Duration, bool) {
		if i == 0 {
			return 100 * time.Microsecond, true
		}
		return time.Millisecond, false
	}
	for _, tc := range []struct {
		penalty  float64
		min, max float64
	}{
		{penalty: 0, min: 0.25, max: 1},
		{penalty: strategy.DefaultFailurePenalty, min: 0, max: 0.05},
	} {
		clk := &lrnClock{now: 1}
		hs := lrnHosts(4, clk)
		p := must(t)(strategy.NewPeakEWMA(seeded(8), strategy.WithFailurePenalty(tc.penalty))).NewPicker(hs)
		lrnDrive(p, hs, clk, time.Second, time.Millisecond, out)
		got := lrnDrive(p, hs, clk, 5*time.Second, time.Millisecond, out)
		if s := share(got, 0); s < tc.min || s > tc.max {
			t.Errorf("penalty %v: the fast-failing host got %.1f%% of the calls (%v), want %.0f%%..%.0f%%",
				tc.penalty, 100*s, got, 100*tc.min, 100*tc.max)
		}
	}
}

func TestPeakEWMAInitialLatency(t *testing.T) {
	ok := func(int) (time.Duration, bool) { return time.Millisecond, false }
	for _, tc := range []struct {
		opts     []strategy.Option
		min, max float64
	}{
		// By default a new host is assumed average, and gets its share.
		{opts: nil, min: 0.15, max: 1},
		// Assumed slow, it gets little more than exploration.
		{opts: []strategy.Option{strategy.WithInitialLatency(time.Second), strategy.WithExploration(0)}, min: 0, max: 0.01},
	} {
		clk := &lrnClock{now: 1}
		hs := lrnHosts(4, clk)
		lrnDrive(must(t)(strategy.NewPeakEWMA(seeded(9))).NewPicker(hs[:3]), hs[:3], clk, time.Second, time.Millisecond, ok)
		p := must(t)(strategy.NewPeakEWMA(append(tc.opts, seeded(10))...)).NewPicker(hs)
		got := make([]int, 4)
		for range 1000 {
			got[p.Pick()]++ // no outcomes yet: the assumption alone decides
		}
		if s := share(got, 3); s < tc.min || s > tc.max {
			t.Errorf("%v: new host got %.1f%% of the picks (%v), want %.0f%%..%.0f%%", tc.opts, 100*s, got, 100*tc.min, 100*tc.max)
		}
	}
}

func TestLeastInFlightPrefersLessLoadedHosts(t *testing.T) {
	load := func(hs []*strategy.Stats, inflight ...int) {
		for i, n := range inflight {
			for range n {
				hs[i].Begin()
			}
		}
	}
	for _, tc := range []struct {
		k, hosts int
		inflight []int
		idle     int
		want     float64 // share of the idle host
	}{
		// P2C over three: the idle host is in the pair two times in three.
		{k: 2, hosts: 3, inflight: []int{5, 5, 0}, idle: 2, want: 2.0 / 3},
		// Three distinct choices of four: the idle host is drawn 3/4 of the
		// time (with repetition it would be 1-(3/4)³ = 58%).
		{k: 3, hosts: 4, inflight: []int{1, 1, 1, 0}, idle: 3, want: 3.0 / 4},
		{k: 5, hosts: 9, inflight: []int{1, 1, 1, 1, 1, 1, 1, 1, 0}, idle: 8, want: 5.0 / 9},
		// k of at least the number of hosts is least-loaded.
		{k: 3, hosts: 3, inflight: []int{2, 0, 1}, idle: 1, want: 1},
		{k: 10, hosts: 3, inflight: []int{2, 1, 0}, idle: 2, want: 1},
	} {
		s := must(t)(strategy.NewLeastInFlight(tc.k, seeded(11)))
		hs := lrnHosts(tc.hosts, &lrnClock{})
		load(hs, tc.inflight...)
		p := s.NewPicker(hs)
		got := make([]int, tc.hosts)
		for range 60000 {
			got[p.Pick()]++
		}
		if s := share(got, tc.idle); math.Abs(s-tc.want) > 0.015 {
			t.Errorf("k=%d over %d hosts %v: idle host got %.3f of the picks (%v), want %.3f", tc.k, tc.hosts, tc.inflight, s, got, tc.want)
		}
	}
}

func TestLeastInFlightHonoursWeights(t *testing.T) {
	hs := lrnHosts(2, &lrnClock{})
	hs[1].SetWeight(4)
	for range 2 { // host 1: (2+1)/4 per unit of weight, host 0: (0+1)/1
		hs[1].Begin()
	}
	p := strategy.P2C().NewPicker(hs)
	for range 100 {
		if i := p.Pick(); i != 1 {
			t.Fatalf("picked host %d; host 1 has fewer requests in flight per unit of weight", i)
		}
	}
}

func TestSoftmaxSharesFollowScores(t *testing.T) {
	clk := &lrnClock{now: 1}
	hs := lrnHosts(3, clk)
	hs[2].SetWeight(3)
	// Hosts 0 and 2 never fail; host 1 fails one call in five.
	for k := range 1000 {
		clk.now += int64(time.Microsecond)
		for i, h := range hs {
			failed := i == 1 && k%5 == 0
			score := strategy.HostUp
			if failed {
				score = strategy.HostDown
			}
			h.Observe(clk.now, time.Millisecond, failed, score)
		}
	}
	p := must(t)(strategy.NewSoftmax(0.1, seeded(12))).NewPicker(hs)
	got := make([]int, 3)
	for range 200000 {
		got[p.Pick()]++
	}
	// Weights 1, e^(-0.2/0.1), 3 (to within the one optimistic
	// pseudo-observation).
	w := []float64{1, math.Exp(-2), 3}
	for i := range w {
		want := w[i] / (w[0] + w[1] + w[2])
		if s := share(got, i); math.Abs(s-want) > 0.01 {
			t.Errorf("host %d got %.3f of the picks, want %.3f (%v)", i, s, want, got)
		}
	}
}

func TestThompsonAndUCBShareEqualHosts(t *testing.T) {
	for _, s := range []strategy.Strategy{
		must(t)(strategy.NewThompson(seeded(13))),
		must(t)(strategy.NewUCB1(seeded(14))),
		must(t)(strategy.NewEpsilonGreedy(0, seeded(15))),
	} {
		clk := &lrnClock{now: 1}
		hs := lrnHosts(4, clk)
		got := lrnDrive(s.NewPicker(hs), hs, clk, 20*time.Second, time.Millisecond, func(int) (time.Duration, bool) { return time.Millisecond, false })
		for i := range got {
			if sh := share(got, i); sh < 0.15 || sh > 0.35 {
				t.Errorf("%s: equal host %d got %.3f of the calls (%v), want about 0.25", s.Name(), i, sh, got)
			}
		}
	}
}

func TestMemoizedTableWaitsForTheInterval(t *testing.T) {
	clk := &lrnClock{now: 1}
	hs := lrnHosts(2, clk)
	p := must(t)(strategy.NewEpsilonGreedy(0, seeded(16), strategy.WithMemoize(100*time.Millisecond))).NewPicker(hs)
	// Host 0 starts failing 10 ms after the table was computed.
	clk.now += int64(10 * time.Millisecond)
	for range 50 {
		hs[0].Observe(clk.now, time.Millisecond, true, strategy.HostDown)
	}
	got := make([]int, 2)
	for range 1000 {
		got[p.Pick()]++
	}
	if got[0] < 400 {
		t.Fatalf("within the memoization interval host 0 got %v of the picks; the table must not change yet", got)
	}
	// Past the interval, the next observation of host 0 shows the table is
	// stale, and the first pick that lands on it refreshes it.
	clk.now += int64(100 * time.Millisecond)
	hs[0].Observe(clk.now, time.Millisecond, true, strategy.HostDown)
	p.Pick()
	got = make([]int, 2)
	for range 1000 {
		got[p.Pick()]++
	}
	if got[0] != 0 {
		t.Fatalf("after the interval host 0 got %v of the picks, want none", got)
	}
}

func TestWithoutMemoizationEveryPickSeesTheLatest(t *testing.T) {
	clk := &lrnClock{now: 1}
	hs := lrnHosts(2, clk)
	p := must(t)(strategy.NewEpsilonGreedy(0, seeded(17), strategy.WithMemoize(0))).NewPicker(hs)
	hs[1].Observe(clk.now, time.Millisecond, true, strategy.HostDown)
	for range 100 {
		if i := p.Pick(); i != 0 {
			t.Fatalf("picked the host that just failed")
		}
	}
}

func TestScoreFuncChangesTheRanking(t *testing.T) {
	clk := &lrnClock{now: 1}
	hs := lrnHosts(2, clk)
	for range 10 {
		hs[0].Observe(clk.now, time.Millisecond, true, strategy.HostDown)
		hs[1].Observe(clk.now, time.Millisecond, false, strategy.HostUp)
	}
	// A score function that prefers failure (and strays out of [0,1],
	// which must be clamped rather than break the ranking).
	invert := func(s float64) float64 { return 1.5 - 2*s }
	p := must(t)(strategy.NewEpsilonGreedy(0, seeded(18), strategy.WithScoreFunc(invert))).NewPicker(hs)
	for range 100 {
		if i := p.Pick(); i != 0 {
			t.Fatalf("picked host %d; the score function rates host 0 best", i)
		}
	}
	nan := func(float64) float64 { return math.NaN() }
	p = must(t)(strategy.NewSoftmax(0.1, seeded(19), strategy.WithScoreFunc(nan))).NewPicker(hs)
	for range 100 {
		if i := p.Pick(); i < 0 || i > 1 {
			t.Fatalf("NaN scores: picked %d", i)
		}
	}
}

func TestSeededPickersRepeat(t *testing.T) {
	for _, build := range []func() (strategy.Strategy, error){
		func() (strategy.Strategy, error) { return strategy.NewEpsilonGreedy(0.5, seeded(20)) },
		func() (strategy.Strategy, error) { return strategy.NewSoftmax(1, seeded(20)) },
		func() (strategy.Strategy, error) { return strategy.NewThompson(seeded(20)) },
		func() (strategy.Strategy, error) { return strategy.NewLeastInFlight(3, seeded(20)) },
		func() (strategy.Strategy, error) {
			return strategy.NewPeakEWMA(seeded(20), strategy.WithExploration(0.5))
		},
	} {
		var runs [2][]int
		for r := range runs {
			s := must(t)(build())
			hs := lrnHosts(7, &lrnClock{now: 1})
			p := s.NewPicker(hs)
			for range 200 {
				runs[r] = append(runs[r], p.Pick())
			}
		}
		if fmt.Sprint(runs[0]) != fmt.Sprint(runs[1]) {
			t.Errorf("%s: two pickers with the same seed differ", must(t)(build()).Name())
		}
	}
}

func TestLearningPickersOverFewHosts(t *testing.T) {
	for _, s := range learningStrategies(t) {
		if i := s.NewPicker(nil).Pick(); i != -1 {
			t.Errorf("%s over no hosts picked %d", s.Name(), i)
		}
		if i := s.NewPicker(lrnHosts(1, &lrnClock{})).Pick(); i != 0 {
			t.Errorf("%s over one host picked %d", s.Name(), i)
		}
		p := s.NewPicker(lrnHosts(2, &lrnClock{}))
		for range 100 {
			if i := p.Pick(); i != 0 && i != 1 {
				t.Fatalf("%s over two hosts picked %d", s.Name(), i)
			}
		}
	}
}

func TestLearningPickersDoNotAllocate(t *testing.T) {
	hs := benchHosts(50)
	all := append(learningStrategies(t),
		must(t)(strategy.NewSoftmax(0.1, strategy.WithMemoize(0))),
		must(t)(strategy.NewThompson(strategy.WithMemoize(0))),
		must(t)(strategy.NewUCB1(strategy.WithMemoize(0))),
		must(t)(strategy.NewEpsilonGreedy(0.1, strategy.WithMemoize(0))),
		must(t)(strategy.NewLeastInFlight(50)),
		must(t)(strategy.NewLeastInFlight(20)))
	for _, s := range all {
		p := s.NewPicker(hs)
		if n := testing.AllocsPerRun(1000, func() { p.Pick() }); n != 0 {
			t.Errorf("%s allocates %v per pick", s.Name(), n)
		}
	}
}

func TestLearningPickersUnderConcurrentLoad(t *testing.T) {
	all := append(learningStrategies(t),
		must(t)(strategy.NewSoftmax(0.1, strategy.WithMemoize(0))),
		must(t)(strategy.NewThompson(strategy.WithMemoize(time.Microsecond))))
	for _, s := range all {
		hs := benchHosts(8)
		p := s.NewPicker(hs)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range 2000 {
					i := p.Pick()
					if i < 0 || i >= len(hs) {
						t.Errorf("%s picked %d", s.Name(), i)
						return
					}
					start := hs[i].Begin()
					failed := (g+k+i)%7 == 0
					hs[i].Done(start, failed, map[bool]float64{false: strategy.HostUp, true: strategy.HostDown}[failed])
				}
			}()
		}
		wg.Wait()
		for _, h := range hs {
			if h.InFlight() != 0 {
				t.Fatalf("%s: %s has %d in flight after the load", s.Name(), h.Address(), h.InFlight())
			}
		}
	}
}

func TestLearningStrategyNames(t *testing.T) {
	for _, tc := range []struct {
		s    strategy.Strategy
		want string
	}{
		{must(t)(strategy.NewEpsilonGreedy(0.1)), "epsilon-greedy(0.1)"},
		{must(t)(strategy.NewSoftmax(0.25)), "softmax(0.25)"},
		{must(t)(strategy.NewUCB1()), "ucb1"},
		{must(t)(strategy.NewThompson()), "thompson"},
		{strategy.P2C(), "p2c"},
		{must(t)(strategy.NewLeastInFlight(3)), "least-in-flight(3)"},
		{strategy.PeakEWMA(), "peak-ewma"},
		{must(t)(strategy.NewPeakEWMA(strategy.WithFailurePenalty(0))), "peak-ewma(classic)"},
		{must(t)(strategy.NewPeakEWMA(strategy.WithFailurePenalty(0), strategy.WithChoices(2))), "peak-ewma(classic,k=2)"},
		{must(t)(strategy.NewPeakEWMA(strategy.WithChoices(5))), "peak-ewma(k=5)"},
	} {
		if got := tc.s.Name(); got != tc.want {
			t.Errorf("name %q, want %q", got, tc.want)
		}
	}
}

func TestBadParametersAreErrors(t *testing.T) {
	clock := func() int64 { return 0 }
	for name, build := range map[string]func() (strategy.Strategy, error){
		"epsilon below 0":      func() (strategy.Strategy, error) { return strategy.NewEpsilonGreedy(-0.1) },
		"epsilon above 1":      func() (strategy.Strategy, error) { return strategy.NewEpsilonGreedy(1.5) },
		"epsilon NaN":          func() (strategy.Strategy, error) { return strategy.NewEpsilonGreedy(math.NaN()) },
		"temperature 0":        func() (strategy.Strategy, error) { return strategy.NewSoftmax(0) },
		"temperature negative": func() (strategy.Strategy, error) { return strategy.NewSoftmax(-1) },
		"temperature infinite": func() (strategy.Strategy, error) { return strategy.NewSoftmax(math.Inf(1)) },
		"temperature NaN":      func() (strategy.Strategy, error) { return strategy.NewSoftmax(math.NaN()) },
		"k 0":                  func() (strategy.Strategy, error) { return strategy.NewLeastInFlight(0) },
		"k negative":           func() (strategy.Strategy, error) { return strategy.NewLeastInFlight(-2) },
		"negative memoize":     func() (strategy.Strategy, error) { return strategy.NewUCB1(strategy.WithMemoize(-time.Second)) },
		"nil score func":       func() (strategy.Strategy, error) { return strategy.NewThompson(strategy.WithScoreFunc(nil)) },
		"nil rand":             func() (strategy.Strategy, error) { return strategy.NewPeakEWMA(strategy.WithRand(nil)) },
		"nil clock":            func() (strategy.Strategy, error) { return strategy.NewSoftmax(1, strategy.WithPickerClock(nil)) },
		"nil option":           func() (strategy.Strategy, error) { return strategy.NewSoftmax(1, nil) },
		"zero initial latency": func() (strategy.Strategy, error) { return strategy.NewPeakEWMA(strategy.WithInitialLatency(0)) },
		"negative penalty":     func() (strategy.Strategy, error) { return strategy.NewPeakEWMA(strategy.WithFailurePenalty(-1)) },
		"infinite penalty": func() (strategy.Strategy, error) {
			return strategy.NewPeakEWMA(strategy.WithFailurePenalty(math.Inf(1)))
		},
		"NaN penalty": func() (strategy.Strategy, error) {
			return strategy.NewPeakEWMA(strategy.WithFailurePenalty(math.NaN()))
		},
		"exploration 1":         func() (strategy.Strategy, error) { return strategy.NewPeakEWMA(strategy.WithExploration(1)) },
		"exploration negative":  func() (strategy.Strategy, error) { return strategy.NewPeakEWMA(strategy.WithExploration(-0.1)) },
		"exploration NaN":       func() (strategy.Strategy, error) { return strategy.NewPeakEWMA(strategy.WithExploration(math.NaN())) },
		"choices 0":             func() (strategy.Strategy, error) { return strategy.NewPeakEWMA(strategy.WithChoices(0)) },
		"choices 9":             func() (strategy.Strategy, error) { return strategy.NewPeakEWMA(strategy.WithChoices(9)) },
		"choices for p2c":       func() (strategy.Strategy, error) { return strategy.NewLeastInFlight(2, strategy.WithChoices(3)) },
		"memoize for peak-ewma": func() (strategy.Strategy, error) { return strategy.NewPeakEWMA(strategy.WithMemoize(time.Second)) },
		"penalty for softmax":   func() (strategy.Strategy, error) { return strategy.NewSoftmax(1, strategy.WithFailurePenalty(1)) },
		"score func for p2c": func() (strategy.Strategy, error) {
			return strategy.NewLeastInFlight(2, strategy.WithPickerClock(clock), strategy.WithScoreFunc(func(s float64) float64 { return s }))
		},
	} {
		s, err := build()
		if !errors.Is(err, strategy.ErrInvalidArgument) || s != nil {
			t.Errorf("%s: got %v, %v; want nil and an error wrapping ErrInvalidArgument", name, s, err)
		}
	}
	_, err := strategy.NewPeakEWMA(strategy.WithMemoize(time.Second), strategy.WithScoreFunc(math.Sqrt))
	if err == nil || !strings.Contains(err.Error(), "WithMemoize, WithScoreFunc not applicable to peak-ewma") {
		t.Errorf("inapplicable options: %v", err)
	}
}
