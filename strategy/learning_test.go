package strategy_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// lrnHosts returns n hosts on clk with short windows, so that the tests see
// learning and forgetting within seconds of simulated time.
func lrnHosts(tb testing.TB, n int, clk *fakeClock) []*strategy.Host {
	tb.Helper()
	hs := make([]*strategy.Host, n)
	for i := range hs {
		hs[i] = newHost(tb, fmt.Sprintf("h%d:80", i), 1,
			clk.option(), strategy.WithWindow(2*time.Second), strategy.WithShortWindow(time.Second))
	}
	return hs
}

// outcome is the truth about one call to host i.
type outcome func(i int) (latency time.Duration, failed bool)

// lrnDrive makes one call per step of simulated time for d, each to the host
// p picks, records its outcome and returns how many calls each host got.
func lrnDrive(p strategy.Picker, hs []*strategy.Host, clk *fakeClock, d, step time.Duration, out outcome) []int {
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
		strategy.Observe(hs[i], clk.now, lat, failed, score)
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

// seeded is a source of random numbers for a repeatable picker.
func seeded(seed uint64) rand.Source { return rand.NewPCG(seed, seed+1) }

// bandit is the bandits' shared config with a seeded source.
func bandit(seed uint64) strategy.Bandit { return strategy.Bandit{Rand: seeded(seed)} }

// greedy is an epsilon that never explores: Epsilon 0 means the default,
// and this one rounds to no exploring pick at all.
const greedy = math.SmallestNonzeroFloat64

// learners are the strategies that learn from outcomes, seeded.
func learners() []strategy.Strategy {
	return []strategy.Strategy{
		strategy.EpsilonGreedy{Epsilon: 0.1, Bandit: bandit(1)},
		strategy.Softmax{Temperature: 0.1, Bandit: bandit(2)},
		strategy.UCB1{Bandit: bandit(3)},
		strategy.Thompson{Bandit: bandit(4)},
		strategy.PeakEWMA{Rand: seeded(5)},
	}
}

func TestLearnersShunAFailingHostAndTakeItBackWhenItRecovers(t *testing.T) {
	for _, s := range learners() {
		t.Run(s.Name(), func(t *testing.T) {
			clk := &fakeClock{now: 1}
			hs := lrnHosts(t, 5, clk)
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
	for _, s := range learners() {
		t.Run(s.Name(), func(t *testing.T) {
			clk := &fakeClock{now: 1}
			hs := lrnHosts(t, 4, clk)
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
	clk := &fakeClock{now: 1}
	hs := lrnHosts(t, 4, clk)
	p := strategy.PeakEWMA{Rand: seeded(7)}.NewPicker(hs)
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
		s        strategy.PeakEWMA
		min, max float64
	}{
		{s: strategy.PeakEWMA{Classic: true}, min: 0.25, max: 1},
		{s: strategy.PeakEWMA{}, min: 0, max: 0.05},
		{s: strategy.PeakEWMA{FailurePenalty: strategy.DefaultFailurePenalty}, min: 0, max: 0.05},
	} {
		clk := &fakeClock{now: 1}
		hs := lrnHosts(t, 4, clk)
		tc.s.Rand = seeded(8)
		p := tc.s.NewPicker(hs)
		lrnDrive(p, hs, clk, time.Second, time.Millisecond, out)
		got := lrnDrive(p, hs, clk, 5*time.Second, time.Millisecond, out)
		if s := share(got, 0); s < tc.min || s > tc.max {
			t.Errorf("%s, penalty %v: the fast-failing host got %.1f%% of the calls (%v), want %.0f%%..%.0f%%",
				tc.s.Name(), tc.s.FailurePenalty, 100*s, got, 100*tc.min, 100*tc.max)
		}
	}
}

func TestPeakEWMAInitialLatency(t *testing.T) {
	ok := func(int) (time.Duration, bool) { return time.Millisecond, false }
	for _, tc := range []struct {
		s        strategy.PeakEWMA
		min, max float64
	}{
		// By default a new host is assumed average, and gets its share.
		{s: strategy.PeakEWMA{}, min: 0.15, max: 1},
		// Assumed slow, it gets next to nothing.
		{s: strategy.PeakEWMA{InitialLatency: time.Second}, min: 0, max: 0.01},
	} {
		clk := &fakeClock{now: 1}
		hs := lrnHosts(t, 4, clk)
		lrnDrive(strategy.PeakEWMA{Rand: seeded(9)}.NewPicker(hs[:3]), hs[:3], clk, time.Second, time.Millisecond, ok)
		tc.s.Rand = seeded(10)
		p := tc.s.NewPicker(hs)
		got := make([]int, 4)
		for range 1000 {
			got[p.Pick()]++ // no outcomes yet: the assumption alone decides
		}
		if s := share(got, 3); s < tc.min || s > tc.max {
			t.Errorf("initial latency %v: new host got %.1f%% of the picks (%v), want %.0f%%..%.0f%%", tc.s.InitialLatency, 100*s, got, 100*tc.min, 100*tc.max)
		}
	}
}

func TestLeastInFlightPrefersLessLoadedHosts(t *testing.T) {
	load := func(hs []*strategy.Host, inflight ...int) {
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
		s := strategy.LeastInFlight{Choices: tc.k, Rand: seeded(11)}
		hs := lrnHosts(t, tc.hosts, &fakeClock{})
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
	hs := lrnHosts(t, 2, &fakeClock{})
	hs[1].SetWeight(4)
	for range 2 { // host 1: (2+1)/4 per unit of weight, host 0: (0+1)/1
		hs[1].Begin()
	}
	p := strategy.LeastInFlight{}.NewPicker(hs)
	for range 100 {
		if i := p.Pick(); i != 1 {
			t.Fatalf("picked host %d; host 1 has fewer requests in flight per unit of weight", i)
		}
	}
}

func TestSoftmaxSharesFollowScores(t *testing.T) {
	clk := &fakeClock{now: 1}
	hs := lrnHosts(t, 3, clk)
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
			strategy.Observe(h, clk.now, time.Millisecond, failed, score)
		}
	}
	p := strategy.Softmax{Temperature: 0.1, Bandit: bandit(12)}.NewPicker(hs)
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
		strategy.Thompson{Bandit: bandit(13)},
		strategy.UCB1{Bandit: bandit(14)},
		strategy.EpsilonGreedy{Epsilon: greedy, Bandit: bandit(15)},
	} {
		clk := &fakeClock{now: 1}
		hs := lrnHosts(t, 4, clk)
		got := lrnDrive(s.NewPicker(hs), hs, clk, 20*time.Second, time.Millisecond, func(int) (time.Duration, bool) { return time.Millisecond, false })
		for i := range got {
			if sh := share(got, i); sh < 0.15 || sh > 0.35 {
				t.Errorf("%s: equal host %d got %.3f of the calls (%v), want about 0.25", s.Name(), i, sh, got)
			}
		}
	}
}

func TestMemoizedTableWaitsForTheInterval(t *testing.T) {
	clk := &fakeClock{now: 1}
	hs := lrnHosts(t, 2, clk)
	p := strategy.EpsilonGreedy{Epsilon: greedy, Bandit: strategy.Bandit{Memoize: 100 * time.Millisecond, Rand: seeded(16)}}.NewPicker(hs)
	// Host 0 starts failing 10 ms after the table was computed.
	clk.now += int64(10 * time.Millisecond)
	for range 50 {
		strategy.Observe(hs[0], clk.now, time.Millisecond, true, strategy.HostDown)
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
	strategy.Observe(hs[0], clk.now, time.Millisecond, true, strategy.HostDown)
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
	clk := &fakeClock{now: 1}
	hs := lrnHosts(t, 2, clk)
	// The shortest memoization interval: the table is as old as the last
	// tick of the clock.
	p := strategy.EpsilonGreedy{Epsilon: greedy, Bandit: strategy.Bandit{Memoize: time.Nanosecond, Rand: seeded(17)}}.NewPicker(hs)
	clk.advance(time.Nanosecond)
	strategy.Observe(hs[1], clk.now, time.Millisecond, true, strategy.HostDown)
	for range 100 {
		if i := p.Pick(); i != 0 {
			t.Fatalf("picked the host that just failed")
		}
	}
}

func TestTransformChangesTheRanking(t *testing.T) {
	clk := &fakeClock{now: 1}
	hs := lrnHosts(t, 2, clk)
	for range 10 {
		strategy.Observe(hs[0], clk.now, time.Millisecond, true, strategy.HostDown)
		strategy.Observe(hs[1], clk.now, time.Millisecond, false, strategy.HostUp)
	}
	// A score function that prefers failure (and strays out of [0,1],
	// which must be clamped rather than break the ranking).
	invert := func(s float64) float64 { return 1.5 - 2*s }
	p := strategy.EpsilonGreedy{Epsilon: greedy, Bandit: strategy.Bandit{Transform: invert, Rand: seeded(18)}}.NewPicker(hs)
	for range 100 {
		if i := p.Pick(); i != 0 {
			t.Fatalf("picked host %d; the score function rates host 0 best", i)
		}
	}
	nan := func(float64) float64 { return math.NaN() }
	p = strategy.Softmax{Bandit: strategy.Bandit{Transform: nan, Rand: seeded(19)}}.NewPicker(hs)
	for range 100 {
		if i := p.Pick(); i < 0 || i > 1 {
			t.Fatalf("NaN scores: picked %d", i)
		}
	}
}

func TestSeededPickersRepeat(t *testing.T) {
	for _, build := range []func() strategy.Strategy{
		func() strategy.Strategy { return strategy.EpsilonGreedy{Epsilon: 0.5, Bandit: bandit(20)} },
		func() strategy.Strategy { return strategy.Softmax{Temperature: 1, Bandit: bandit(20)} },
		func() strategy.Strategy { return strategy.Thompson{Bandit: bandit(20)} },
		func() strategy.Strategy { return strategy.LeastInFlight{Choices: 3, Rand: seeded(20)} },
		func() strategy.Strategy { return strategy.PeakEWMA{Exploration: 0.5, Rand: seeded(20)} },
	} {
		var runs [2][]int
		for r := range runs {
			s := build()
			hs := lrnHosts(t, 7, &fakeClock{now: 1})
			p := s.NewPicker(hs)
			for range 200 {
				runs[r] = append(runs[r], p.Pick())
			}
		}
		if fmt.Sprint(runs[0]) != fmt.Sprint(runs[1]) {
			t.Errorf("%s: two pickers with the same seed differ", build().Name())
		}
	}
}

func TestLearningPickersOverFewHosts(t *testing.T) {
	for _, s := range learningStrategies(t) {
		if i := s.NewPicker(nil).Pick(); i != -1 {
			t.Errorf("%s over no hosts picked %d", s.Name(), i)
		}
		if i := s.NewPicker(lrnHosts(t, 1, &fakeClock{})).Pick(); i != 0 {
			t.Errorf("%s over one host picked %d", s.Name(), i)
		}
		p := s.NewPicker(lrnHosts(t, 2, &fakeClock{}))
		for range 100 {
			if i := p.Pick(); i != 0 && i != 1 {
				t.Fatalf("%s over two hosts picked %d", s.Name(), i)
			}
		}
	}
}

func TestLearningPickersDoNotAllocate(t *testing.T) {
	hs := benchHosts(t, 50)
	unmemoized := strategy.Bandit{Memoize: time.Nanosecond}
	all := append(learningStrategies(t),
		strategy.Softmax{Bandit: unmemoized},
		strategy.Thompson{Bandit: unmemoized},
		strategy.UCB1{Bandit: unmemoized},
		strategy.EpsilonGreedy{Bandit: unmemoized},
		strategy.LeastInFlight{Choices: 50},
		strategy.LeastInFlight{Choices: 20},
		strategy.PeakEWMA{Choices: 8},
		strategy.PeakEWMA{Exploration: 0.1})
	for _, s := range all {
		p := s.NewPicker(hs)
		if n := testing.AllocsPerRun(1000, func() { p.Pick() }); n != 0 {
			t.Errorf("%s allocates %v per pick", s.Name(), n)
		}
	}
}

func TestLearningPickersUnderConcurrentLoad(t *testing.T) {
	all := append(learningStrategies(t),
		strategy.Softmax{Bandit: strategy.Bandit{Memoize: time.Nanosecond}},
		strategy.Thompson{Bandit: strategy.Bandit{Memoize: time.Microsecond}})
	for _, s := range all {
		hs := benchHosts(t, 8)
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
					var err error
					if (g+k+i)%7 == 0 {
						err = errBackend
					}
					hs[i].Record(context.Background(), start, err)
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
