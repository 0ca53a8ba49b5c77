package strategy_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// identicalHosts returns n hosts on clk with default settings and the same
// well-observed, perfect record.
func identicalHosts(tb testing.TB, n int, clk *fakeClock) []*strategy.Host {
	tb.Helper()
	hs := make([]*strategy.Host, n)
	for i := range hs {
		hs[i] = newHost(tb, fmt.Sprintf("h%d:80", i), 1, clk.option())
	}
	observeAll(hs, clk, 200)
	return hs
}

// observeAll gives every host k successes of 1 ms at the clock's now, so
// their records stay identical.
func observeAll(hs []*strategy.Host, clk *fakeClock, k int) {
	for _, h := range hs {
		for range k {
			strategy.Observe(h, clk.now, time.Millisecond, false, strategy.HostUp)
		}
	}
}

// checkFair fails t unless every host got its fair share of the picks to
// within ±10%.
func checkFair(t *testing.T, name string, got []int) {
	t.Helper()
	total := 0
	for _, c := range got {
		total += c
	}
	fair := float64(total) / float64(len(got))
	lo, hi := math.Inf(1), math.Inf(-1)
	bad := 0
	for i, c := range got {
		r := float64(c) / fair
		lo, hi = min(lo, r), max(hi, r)
		if math.Abs(r-1) > 0.1 {
			bad++
			if bad <= 5 {
				t.Errorf("%s: host %d of %d identical hosts got %d picks, %.2f× its fair share %.0f", name, i, len(got), c, r, fair)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d hosts outside ±10%% of fair (shares %.2f×–%.2f× fair)", name, bad, len(got), lo, hi)
	}
}

// TestIdenticalHostsGetEqualShares: Thompson and UCB1 over 10 and 100
// identical, well-observed hosts with default settings give every host its
// fair share of the picks to within ±10%: of 10⁵ picks over 10 hosts, and
// of 4·10⁵ over 100 (with 10⁵, ±10% of a 1,000-pick share is 3.2 standard
// deviations of the sampling noise alone, so even a perfectly uniform
// picker fails it for one host in 100 about one seed in seven; the old
// Thompson gave 10 hosts 0.50×–1.73× and 100 hosts 0–16× their fair
// share). The clock moves 100 µs per pick
// (so the default 100 ms table is recomputed about a hundred times) and
// every host gets the same success every 100 ms, so the records stay
// identical.
func TestIdenticalHostsGetEqualShares(t *testing.T) {
	for _, n := range []int{10, 100} {
		for _, s := range []strategy.Strategy{
			strategy.Thompson{Bandit: bandit(21)},
			strategy.UCB1{Bandit: bandit(22)},
		} {
			t.Run(fmt.Sprintf("%s/hosts=%d", s.Name(), n), func(t *testing.T) {
				clk := &fakeClock{now: 1}
				hs := identicalHosts(t, n, clk)
				p := s.NewPicker(hs)
				got := make([]int, n)
				for k := range max(100_000, 4000*n) {
					got[p.Pick()]++
					clk.advance(100 * time.Microsecond)
					if k%1000 == 999 {
						observeAll(hs, clk, 1)
					}
				}
				checkFair(t, s.Name(), got)
			})
		}
	}
}

// TestUCB1SpreadsEachInterval: UCB1 with default settings, one call per
// millisecond to 10 identical hosts, each call's outcome recorded: no host
// gets more than half the picks of any 100 ms memoization interval, and
// over 10⁵ picks every host gets its fair share to within ±10%.
func TestUCB1SpreadsEachInterval(t *testing.T) {
	clk := &fakeClock{now: 1}
	hs := make([]*strategy.Host, 10)
	for i := range hs {
		hs[i] = newHost(t, fmt.Sprintf("h%d:80", i), 1, clk.option())
	}
	p := strategy.UCB1{Bandit: bandit(23)}.NewPicker(hs)
	got := make([]int, len(hs))
	interval := make([]int, len(hs))
	worst := 0.0
	for k := range 100_000 {
		i := p.Pick()
		got[i]++
		interval[i]++
		clk.advance(time.Millisecond)
		strategy.Observe(hs[i], clk.now, time.Millisecond, false, strategy.HostUp)
		if k%100 == 99 {
			for j, c := range interval {
				worst = max(worst, float64(c)/100)
				interval[j] = 0
			}
		}
	}
	if worst > 0.5 {
		t.Errorf("one host got %.0f%% of the picks of a 100 ms interval; want at most 50%%", 100*worst)
	}
	checkFair(t, "ucb1", got)
}

// TestUCB1RetryAvoidsTheHostThatFailed: a retry through HostSet.Pick with
// the failed host in tried never lands on it, even within the interval in
// which UCB1 rates it best, and the retries spread over the other hosts.
func TestUCB1RetryAvoidsTheHostThatFailed(t *testing.T) {
	clk := &fakeClock{now: 1}
	hs := identicalHosts(t, 10, clk)
	set := newSet(t, strategy.UCB1{Bandit: bandit(24)}, hs)
	retries := make([]int, len(hs))
	for range 10_000 {
		first, err := set.Pick(nil)
		if err != nil {
			t.Fatal(err)
		}
		strategy.Observe(first.Host, clk.now, time.Millisecond, true, strategy.HostDown)
		again, err := set.Pick([]string{first.Host.Address()})
		if err != nil {
			t.Fatal(err)
		}
		if again.Value == first.Value {
			t.Fatalf("the retry landed on %s, the host that just failed", first.Host.Address())
		}
		retries[again.Value]++
		strategy.Observe(again.Host, clk.now, time.Millisecond, false, strategy.HostUp)
		clk.advance(time.Millisecond)
	}
	for i, c := range retries {
		if c < 10_000/len(hs)/4 {
			t.Errorf("host %d took %d of 10000 retries (%v); want them spread", i, c, retries)
		}
	}
}

// TestLearnersRecoverWithinSecondsOnDefaults: every learning strategy with
// its defaults (but for a seeded source) and the hosts' defaults, over 10
// hosts at 8000 calls a second (the simulator's load); host 3 fails every
// call from 10 s to 30 s and then recovers. Its share of the calls over
// half a second must fall below 5% within 2 s of turning bad and be back
// to at least half its fair share (5%) within 10 s of recovering (PeakEWMA:
// 5 s), the targets of issue 13. With records that forgot only by the
// clock, EpsilonGreedy, Softmax and Thompson did not take the host back
// within 30 s, and PeakEWMA took 3 to 11 s depending on the seed.
func TestLearnersRecoverWithinSecondsOnDefaults(t *testing.T) {
	for _, c := range []struct {
		s    strategy.Strategy
		back time.Duration
	}{
		{strategy.EpsilonGreedy{Bandit: bandit(25)}, 10 * time.Second},
		{strategy.Softmax{Bandit: bandit(26)}, 10 * time.Second},
		{strategy.UCB1{Bandit: bandit(27)}, 10 * time.Second},
		{strategy.Thompson{Bandit: bandit(28)}, 10 * time.Second},
		{strategy.PeakEWMA{Rand: seeded(29)}, 5 * time.Second},
	} {
		t.Run(c.s.Name(), func(t *testing.T) {
			clk := &fakeClock{now: 1}
			hs := make([]*strategy.Host, 10)
			for i := range hs {
				hs[i] = newHost(t, fmt.Sprintf("h%d:80", i), 1, clk.option())
			}
			p := c.s.NewPicker(hs)
			bad := false
			out := func(i int) (time.Duration, bool) { return time.Millisecond, bad && i == 3 }
			const step, slice = 125 * time.Microsecond, 500 * time.Millisecond
			// until drives slices of calls for up to limit and returns
			// how long it took for host 3's share of a slice to satisfy ok.
			until := func(limit time.Duration, ok func(float64) bool) time.Duration {
				for d := slice; d <= limit; d += slice {
					if ok(share(lrnDrive(p, hs, clk, slice, step, out), 3)) {
						return d
					}
				}
				return -1
			}
			lrnDrive(p, hs, clk, 10*time.Second, step, out)
			bad = true
			badAt := clk.now
			if d := until(2*time.Second, func(s float64) bool { return s < 0.05 }); d < 0 {
				t.Errorf("host 3 still had 5%% or more of the calls 2 s after turning bad")
			}
			lrnDrive(p, hs, clk, 20*time.Second-time.Duration(clk.now-badAt), step, out)
			bad = false
			if d := until(c.back, func(s float64) bool { return s >= 0.05 }); d < 0 {
				t.Errorf("host 3 not back to half its fair share %v after recovering", c.back)
			}
		})
	}
	if _, err := strategy.NewHost("a:1", 1, strategy.WithMaxObservations(-1)); !errors.Is(err, strategy.ErrInvalidArgument) {
		t.Errorf("WithMaxObservations(-1): %v, want ErrInvalidArgument", err)
	}
}

// TestBanditsPreferIdleHosts: over 10 identical, well-observed hosts of
// which 5 each have four calls in flight, the bandits send most picks to
// the idle ones (they keep the least loaded of three draws from their
// table); they used to ignore load and send half the picks to the busy
// hosts, which in the simulator's capacity scenario made their p99 worse
// than P2C's.
func TestBanditsPreferIdleHosts(t *testing.T) {
	for _, s := range []strategy.Strategy{
		strategy.EpsilonGreedy{Bandit: bandit(31)},
		strategy.Softmax{Bandit: bandit(32)},
		strategy.UCB1{Bandit: bandit(33)},
		strategy.Thompson{Bandit: bandit(34)},
	} {
		t.Run(s.Name(), func(t *testing.T) {
			clk := &fakeClock{now: 1}
			hs := identicalHosts(t, 10, clk)
			for _, h := range hs[:5] {
				for range 4 {
					h.Begin()
				}
			}
			p := s.NewPicker(hs)
			idle := 0
			const picks = 10_000
			for range picks {
				if p.Pick() >= 5 {
					idle++
				}
			}
			if got := float64(idle) / picks; got < 0.75 {
				t.Errorf("idle hosts got %.2f of the picks, want at least 0.75", got)
			}
		})
	}
}

// TestUCB1SharesStayEvenWhenCountsDifferALittle: ten healthy hosts, five
// with two more observations than the others. UCB1 hands out several
// intervals' worth of virtual observations at a refresh (ucbHorizon), so
// the five get nearly the others' share of the interval; handing out one
// interval's worth made up the whole difference at once and gave them
// about a quarter of the others' share, which queued calls on the rest
// under a capacity limit (capacity scenario p99 4.66 ms against P2C's 4.64).
func TestUCB1SharesStayEvenWhenCountsDifferALittle(t *testing.T) {
	clk := &fakeClock{now: 1}
	hs := make([]*strategy.Host, 10)
	for i := range hs {
		hs[i] = newHost(t, fmt.Sprintf("h%d:80", i), 1, clk.option())
		k := 1000
		if i >= 5 {
			k = 1002
		}
		for range k {
			strategy.Observe(hs[i], clk.now, time.Millisecond, false, strategy.HostUp)
		}
	}
	p := strategy.UCB1{Bandit: bandit(35)}.NewPicker(hs)
	got := make([]int, len(hs))
	for range 20_000 {
		got[p.Pick()]++
	}
	less, more := 0, 0
	for i, c := range got {
		if i < 5 {
			less += c
		} else {
			more += c
		}
	}
	if r := float64(more) / float64(less); r < 0.75 {
		t.Errorf("the hosts with 2 more observations got %.2f× the others' picks (%v), want at least 0.75×", r, got)
	}
}
