package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// guardedSet returns a set of n hosts made by the set itself (so that they
// take part in its ejection and slow start), on clk.
func guardedSet(tb testing.TB, s strategy.Strategy, n int, clk *fakeClock, opts ...strategy.Option) (*strategy.HostSet[int], []*strategy.Host) {
	tb.Helper()
	set, err := strategy.NewHostSet[int](s, append([]strategy.Option{clk.option()}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	hs := make([]*strategy.Host, n)
	for i := range hs {
		hs[i] = set.NewHost(fmt.Sprintf("h%d", i), 1)
	}
	set.Update(members(hs), nil)
	return set, hs
}

// fail records k failed calls on h, and ok k successful ones.
func fail(h *strategy.Host, k int) {
	for range k {
		h.Record(context.Background(), h.Begin(), errBackend)
	}
}

func ok(h *strategy.Host, k int) {
	for range k {
		h.Record(context.Background(), h.Begin(), nil)
	}
}

// picks counts n picks per member.
func picks(tb testing.TB, set *strategy.HostSet[int], n int, tried ...string) []int {
	tb.Helper()
	got := make([]int, len(set.Members()))
	for range n {
		m, err := set.Pick(tried)
		if err != nil {
			tb.Fatal(err)
		}
		got[m.Value]++
	}
	return got
}

func withEjection(o strategy.OutlierEjection) strategy.Option { return strategy.WithOutlierEjection(o) }

func TestConsecutiveFailuresEject(t *testing.T) {
	clk := &fakeClock{}
	set, hs := guardedSet(t, strategy.RoundRobin{}, 10, clk, withEjection(strategy.OutlierEjection{}))
	// A success breaks the streak: four, one good, four is no ejection.
	fail(hs[3], 4)
	ok(hs[3], 1)
	fail(hs[3], 4)
	if st := hs[3].Stats(); st.Ejected {
		t.Fatalf("ejected after broken streaks: %+v", st.HostHealth)
	}
	// A caller's cancellation is not the host's failure.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 10 {
		hs[3].Record(ctx, hs[3].Begin(), context.Canceled)
	}
	if hs[3].Stats().Ejected {
		t.Fatal("cancelled calls ejected the host")
	}
	fail(hs[3], 1) // the fifth in a row
	st := hs[3].Stats()
	if !st.Ejected || st.EjectedFor != strategy.DefaultBaseEjectionTime || st.Ejections != 1 ||
		st.EjectionReason != strategy.EjectedConsecutiveFailures || st.Share != 0 {
		t.Fatalf("after 5 failures in a row: %+v", st.HostHealth)
	}
	if got := picks(t, set, 1000); got[3] != 0 {
		t.Fatalf("ejected host picked %d times of 1000: %v", got[3], got)
	}
	if got := picks(t, set, 100, "h4"); got[3] != 0 || got[4] != 0 {
		t.Fatalf("retry picks went to the ejected or tried host: %v", got)
	}
	if h := set.Health(); h.Ejected != 1 || h.Ejections != 1 || h.Panic {
		t.Fatalf("set health %+v", h)
	}
	clk.advance(strategy.DefaultBaseEjectionTime)
	if got := picks(t, set, 1000); got[3] != 100 {
		t.Fatalf("host back from ejection picked %d times of 1000, want its 100", got[3])
	}
}

func TestEjectionBackOffGrowsAndIsCapped(t *testing.T) {
	clk := &fakeClock{}
	_, hs := guardedSet(t, strategy.RoundRobin{}, 10, clk, withEjection(strategy.OutlierEjection{
		BaseEjectionTime: 10 * time.Second, MaxEjectionTime: 25 * time.Second, Interval: time.Hour,
	}))
	for i, want := range []time.Duration{10 * time.Second, 20 * time.Second, 25 * time.Second, 25 * time.Second} {
		fail(hs[0], 5)
		st := hs[0].Stats()
		if !st.Ejected || st.EjectedFor != want || st.Ejections != uint64(i+1) {
			t.Fatalf("ejection %d: %+v, want %v", i+1, st.HostHealth, want)
		}
		// Failing while ejected does not extend it.
		fail(hs[0], 5)
		if got := hs[0].Stats().EjectedFor; got != want {
			t.Fatalf("ejection %d lasts %v after more failures, want %v", i+1, got, want)
		}
		clk.advance(want)
	}
}

func TestEjectionMultiplierFallsWhileHealthy(t *testing.T) {
	for _, tc := range []struct {
		intervals int
		want      time.Duration
	}{{1, 30 * time.Second}, {3, 10 * time.Second}} {
		clk := &fakeClock{}
		_, hs := guardedSet(t, strategy.RoundRobin{}, 10, clk, withEjection(strategy.OutlierEjection{
			BaseEjectionTime: 10 * time.Second, Interval: 15 * time.Second,
		}))
		fail(hs[0], 5)
		clk.advance(10 * time.Second)
		fail(hs[0], 5) // before the first interval ends
		if got := hs[0].Stats().EjectedFor; got != 20*time.Second {
			t.Fatalf("second ejection lasts %v, want 20s", got)
		}
		// Each interval that ends with the host un-ejected lowers its
		// multiplier by one; the first ends while it is still out.
		for range tc.intervals {
			clk.advance(15 * time.Second)
			ok(hs[1], 1)
		}
		clk.now = max(clk.now, int64(30*time.Second)) // the ejection is over
		fail(hs[0], 5)
		if got := hs[0].Stats().EjectedFor; got != tc.want {
			t.Fatalf("after %d intervals, next ejection lasts %v, want %v", tc.intervals, got, tc.want)
		}
	}
}

func TestEjectionCap(t *testing.T) {
	for _, tc := range []struct {
		hosts, percent, failing, want int
	}{
		{10, 0, 3, 1},  // the default 10%
		{20, 0, 5, 2},  // 10% of 20
		{15, 0, 5, 2},  // Envoy's rule: eject while fewer than 10% are
		{3, 0, 3, 1},   // one host may be, however few there are
		{10, 30, 5, 3}, // a configured cap
		{4, 100, 4, 4},
	} {
		t.Run(fmt.Sprintf("%d-hosts-%d%%", tc.hosts, tc.percent), func(t *testing.T) {
			clk := &fakeClock{}
			set, hs := guardedSet(t, strategy.RoundRobin{}, tc.hosts, clk,
				withEjection(strategy.OutlierEjection{MaxEjectionPercent: tc.percent, PanicThreshold: -1}))
			for i := range tc.failing {
				fail(hs[i], 10)
			}
			if got := set.Health().Ejected; got != tc.want {
				t.Fatalf("%d of %d hosts ejected, want %d", got, tc.hosts, tc.want)
			}
			// When an ejection ends, the next failing host may take its place.
			clk.advance(strategy.DefaultBaseEjectionTime)
			fail(hs[tc.hosts-1], 5)
			if got := set.Health().Ejected; got != 1 {
				t.Fatalf("after the ejections ended, %d ejected, want 1", got)
			}
		})
	}
}

func TestSuccessRateOutlierEjected(t *testing.T) {
	for _, tc := range []struct {
		name        string
		withVolume  int // hosts that see enough calls
		badFailures int // of the bad host's 200 calls
		want        bool
	}{
		{"outlier", 10, 60, true},
		{"within-spread", 10, 4, false},
		{"too-few-hosts", 4, 60, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{}
			set, hs := guardedSet(t, strategy.RoundRobin{}, 10, clk,
				withEjection(strategy.OutlierEjection{ConsecutiveFailures: -1}))
			for i, h := range hs {
				calls := 200
				if i >= tc.withVolume {
					calls = 50 // below the request volume
				}
				bad := 2 + i%3 // peers fail 1-2%
				if i == 7 {
					bad = tc.badFailures
				}
				for k := range calls {
					if k < bad {
						fail(h, 1)
					} else {
						ok(h, 1)
					}
				}
			}
			if set.Health().Ejected != 0 {
				t.Fatal("ejected before the interval ended")
			}
			clk.advance(strategy.DefaultEjectionInterval)
			ok(hs[0], 1) // the first record after the interval compares
			st := hs[7].Stats()
			if st.Ejected != tc.want {
				t.Fatalf("bad host ejected = %v, want %v (%+v)", st.Ejected, tc.want, st.HostHealth)
			}
			if tc.want && st.EjectionReason != strategy.EjectedSuccessRate {
				t.Fatalf("reason %q", st.EjectionReason)
			}
			if n := set.Health().Ejected; n != 0 && !tc.want || n > 1 {
				t.Fatalf("%d hosts ejected", n)
			}
		})
	}
}

func TestPanicThreshold(t *testing.T) {
	for _, tc := range []struct {
		name      string
		threshold int
		ejected   int
		panic     bool
	}{
		{"healthy-half", 0, 2, false}, // 50% healthy is not below 50%
		{"below-default", 0, 3, true},
		{"off", -1, 3, false},
		{"high", 80, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{}
			set, hs := guardedSet(t, strategy.RoundRobin{}, 4, clk,
				withEjection(strategy.OutlierEjection{MaxEjectionPercent: 100, PanicThreshold: tc.threshold}))
			for i := range tc.ejected {
				fail(hs[i], 5)
			}
			h := set.Health()
			if h.Ejected != tc.ejected || h.Panic != tc.panic {
				t.Fatalf("health %+v, want %d ejected, panic %v", h, tc.ejected, tc.panic)
			}
			got := picks(t, set, 400)
			for i, n := range got {
				switch {
				case tc.panic && n != 100:
					t.Fatalf("in panic, host %d got %d of 400 picks, want 100: %v", i, n, got)
				case !tc.panic && i < tc.ejected && n != 0:
					t.Fatalf("ejected host %d got %d picks: %v", i, n, got)
				}
			}
		})
	}
}

// TestEjectionWorksWithEveryStrategy: whatever the strategy prefers, an
// ejected host gets no picks, and the others all of them.
func TestEjectionWorksWithEveryStrategy(t *testing.T) {
	for _, s := range allStrategies() {
		t.Run(s.Name(), func(t *testing.T) {
			clk := &fakeClock{}
			set, hs := guardedSet(t, s, 5, clk, withEjection(strategy.OutlierEjection{}))
			ok(hs[1], 10) // some record for the learners
			fail(hs[0], 5)
			if !hs[0].Stats().Ejected {
				t.Fatal("not ejected")
			}
			got := picks(t, set, 2000)
			if got[0] != 0 {
				t.Fatalf("ejected host picked %d of 2000 times: %v", got[0], got)
			}
			// An ejected host counts as tried: with every other host
			// tried, a retry goes to one of them again.
			if got := picks(t, set, 200, "h1", "h2", "h3", "h4"); got[0] != 0 {
				t.Fatalf("with every other host tried, ejected host picked: %v", got)
			}
		})
	}
}

func TestSlowStartRampsANewHost(t *testing.T) {
	for _, s := range []strategy.Strategy{strategy.RoundRobin{}, strategy.LeastInFlight{Rand: seeded(5)}} {
		t.Run(s.Name(), func(t *testing.T) {
			clk := &fakeClock{}
			set, hs := guardedSet(t, s, 9, clk, strategy.WithSlowStart(strategy.SlowStart{Window: 10 * time.Second}))
			if h := set.Health(); h.Ramping != 0 {
				t.Fatalf("the first members ramp: %+v", h)
			}
			nh := set.NewHost("new", 1)
			set.Update(members(append(hs, nh)), nil)
			const n = 100_000 // a fair share is 10,000
			for _, step := range []struct {
				at    time.Duration
				share float64
			}{{0, 0.1}, {2500 * time.Millisecond, 0.25}, {5 * time.Second, 0.5}, {7500 * time.Millisecond, 0.75}, {10 * time.Second, 1}} {
				clk.now = int64(step.at)
				if got := nh.Stats().Share; math.Abs(got-step.share) > 1e-9 {
					t.Fatalf("at %v share %v, want %v", step.at, got, step.share)
				}
				// The new host gets share × its fair share; the rest
				// spread over the others.
				got := picks(t, set, n)
				want := step.share * n / (9 + step.share)
				if d := math.Abs(float64(got[9]) - want); d > 0.06*want+200 {
					t.Fatalf("at %v the new host got %d of %d picks, want about %.0f", step.at, got[9], n, want)
				}
			}
			if h := set.Health(); h.Ramping != 0 {
				t.Fatalf("still ramping after the window: %+v", h)
			}
		})
	}
}

func TestSlowStartAggressionAndMinimum(t *testing.T) {
	clk := &fakeClock{}
	set, hs := guardedSet(t, strategy.RoundRobin{}, 2, clk,
		strategy.WithSlowStart(strategy.SlowStart{Window: 100 * time.Second, Aggression: 2, MinPercent: 20}))
	nh := set.NewHost("new", 1)
	set.Update(members(append(hs, nh)), nil)
	for _, step := range []struct {
		at    time.Duration
		share float64
	}{{0, 0.2}, {time.Second, 0.2}, {25 * time.Second, 0.5}, {64 * time.Second, 0.8}} {
		clk.now = int64(step.at)
		if got := nh.Stats().Share; math.Abs(got-step.share) > 1e-9 {
			t.Fatalf("at %v share %v, want %v", step.at, got, step.share)
		}
	}
}

func TestSlowStartAfterEjection(t *testing.T) {
	clk := &fakeClock{}
	set, hs := guardedSet(t, strategy.PeakEWMA{Rand: seeded(7)}, 10, clk,
		withEjection(strategy.OutlierEjection{}), strategy.WithSlowStart(strategy.SlowStart{Window: 10 * time.Second}))
	fail(hs[2], 5)
	if got := picks(t, set, 1000); got[2] != 0 {
		t.Fatalf("ejected host picked: %v", got)
	}
	clk.advance(strategy.DefaultBaseEjectionTime)
	st := hs[2].Stats()
	if st.Ejected || st.Share != 0.1 {
		t.Fatalf("back from ejection: %+v, want share 0.1", st.HostHealth)
	}
	if h := set.Health(); h.Ramping != 1 || h.Ejected != 0 {
		t.Fatalf("set health %+v", h)
	}
	clk.advance(10 * time.Second)
	if st := hs[2].Stats(); st.Share != 1 {
		t.Fatalf("after the window share %v", st.Share)
	}
}

func TestHealthOptionErrors(t *testing.T) {
	bad := []strategy.Option{
		withEjection(strategy.OutlierEjection{Interval: -1}),
		withEjection(strategy.OutlierEjection{BaseEjectionTime: -time.Second}),
		withEjection(strategy.OutlierEjection{MaxEjectionPercent: 101}),
		withEjection(strategy.OutlierEjection{MaxEjectionPercent: -1}),
		withEjection(strategy.OutlierEjection{SuccessRateRequestVolume: -1}),
		withEjection(strategy.OutlierEjection{SuccessRateStdevFactor: math.NaN()}),
		withEjection(strategy.OutlierEjection{PanicThreshold: 101}),
		withEjection(strategy.OutlierEjection{BaseEjectionTime: time.Minute, MaxEjectionTime: time.Second}),
		strategy.WithSlowStart(strategy.SlowStart{Window: -1}),
		strategy.WithSlowStart(strategy.SlowStart{Aggression: -1}),
		strategy.WithSlowStart(strategy.SlowStart{Aggression: math.Inf(1)}),
		strategy.WithSlowStart(strategy.SlowStart{MinPercent: 101}),
	}
	for i, o := range bad {
		if _, err := strategy.NewHostSet[int](strategy.RoundRobin{}, o); !errors.Is(err, strategy.ErrInvalidArgument) {
			t.Errorf("bad option %d: err %v", i, err)
		}
	}
	for _, o := range []strategy.Option{withEjection(strategy.OutlierEjection{}), strategy.WithSlowStart(strategy.SlowStart{})} {
		if _, err := strategy.NewHost("a", 1, o); !errors.Is(err, strategy.ErrInvalidArgument) {
			t.Errorf("NewHost accepted a set's option: %v", err)
		}
	}
}

func TestGuardedPickDoesNotAllocate(t *testing.T) {
	clk := &fakeClock{}
	set, hs := guardedSet(t, strategy.PeakEWMA{}, 10, clk,
		withEjection(strategy.OutlierEjection{MaxEjectionPercent: 20}), strategy.WithSlowStart(strategy.SlowStart{}))
	fail(hs[0], 5)
	nh := set.NewHost("new", 1)
	set.Update(members(append(hs, nh)), nil)
	tried := []string{"h1"}
	if n := testing.AllocsPerRun(1000, func() {
		_, _ = set.Pick(nil)
		_, _ = set.Pick(tried)
	}); n != 0 {
		t.Fatalf("%v allocations per pick", n)
	}
}

// TestGuardedSetConcurrentUse drives picks, outcomes and updates at once
// on the real clock, for the race detector: hosts fail, get ejected, come
// back and ramp while other goroutines pick.
func TestGuardedSetConcurrentUse(t *testing.T) {
	set, err := strategy.NewHostSet[int](strategy.PeakEWMA{},
		withEjection(strategy.OutlierEjection{BaseEjectionTime: time.Millisecond, Interval: time.Millisecond, MaxEjectionPercent: 50}),
		strategy.WithSlowStart(strategy.SlowStart{Window: 5 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	hs := make([]*strategy.Host, 8)
	for i := range hs {
		hs[i] = set.NewHost(fmt.Sprintf("h%d", i), 1)
	}
	set.Update(members(hs[:6]), nil)
	done := make(chan struct{})
	errs := make(chan error, 8) // room for every send, so none blocks
	for g := range 4 {
		go func() {
			defer func() { errs <- nil }()
			for k := range 20_000 {
				m, err := set.Pick([]string{"h1"}[:k%2])
				if err != nil {
					errs <- err
					return
				}
				var callErr error
				if m.Value%3 == g%3 {
					callErr = errBackend
				}
				m.Host.Record(context.Background(), m.Host.Begin(), callErr)
			}
		}()
	}
	go func() {
		defer close(done)
		for k := range 200 {
			set.Update(members(hs[:6+k%3]), nil)
			_ = set.Health()
			_ = set.Stats()
		}
	}()
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	<-done
	if set.Health().Ejections == 0 {
		t.Fatal("no host was ever ejected")
	}
}
