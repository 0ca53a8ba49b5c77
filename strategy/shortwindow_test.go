package strategy_test

import (
	"math"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

func TestShortWindowDefaults(t *testing.T) {
	clk := &fakeClock{now: 1}
	h := newHost(t, "a:1", 1, clk.option())
	score, n := strategy.RecentScore(h, clk.now)
	if score != 1 || n != 0 || strategy.PeakLatency(h, clk.now) != 0 {
		t.Fatalf("new host: recent %v over %v, peak %v; want 1 over 0, 0", score, n, strategy.PeakLatency(h, clk.now))
	}
	// The default short window is DefaultShortWindow: the peak latency of
	// an idle host falls to 1/e over it.
	strategy.Observe(h, clk.now, time.Millisecond, false, 1)
	clk.advance(strategy.DefaultShortWindow)
	if got := float64(strategy.PeakLatency(h, clk.now)) / 1e6; math.Abs(got-math.Exp(-1)) > 1e-3 {
		t.Fatalf("one observation of 1ms, one default short window later, peak %.4fms; want 1/e", got)
	}
	if _, err := strategy.NewHost("a:1", 1, strategy.WithShortWindow(-time.Second)); err == nil {
		t.Fatal("a negative short window must be an error")
	}
}

func TestPeakLatencyRisesAtOnceAndFallsWithTheWindow(t *testing.T) {
	clk := &fakeClock{now: 1}
	h := newHost(t, "a:1", 1, clk.option(), strategy.WithShortWindow(time.Second))
	strategy.Observe(h, clk.now, 2*time.Millisecond, false, 1)
	if got := strategy.PeakLatency(h, clk.now); got != 2*time.Millisecond {
		t.Fatalf("first observation: peak %v, want 2ms", got)
	}
	clk.advance(time.Millisecond)
	strategy.Observe(h, clk.now, 40*time.Millisecond, false, 1)
	if got := strategy.PeakLatency(h, clk.now); got != 40*time.Millisecond {
		t.Fatalf("a slower call must set the peak at once: %v", got)
	}
	// A faster call one window later pulls it down by 1-1/e.
	clk.advance(time.Second)
	strategy.Observe(h, clk.now, 0, false, 1)
	want := 40 * math.Exp(-1)
	if got := float64(strategy.PeakLatency(h, clk.now)) / 1e6; math.Abs(got-want) > 0.01 {
		t.Fatalf("a window later: peak %.3fms, want %.3fms", got, want)
	}
	// Left alone, it decays towards zero, so that an idle host is retried.
	// The snapshot reads the same, as of the host's clock.
	clk.advance(3 * time.Second)
	if got := float64(h.Stats().PeakLatency) / 1e6; math.Abs(got-want*math.Exp(-3)) > 0.01 {
		t.Fatalf("idle for three windows: peak %.3fms, want %.3fms", got, want*math.Exp(-3))
	}
}

// TestRecentRecordForgetsByObservations: the recent record rests on about
// DefaultMaxObservations of the host's own outcomes, and fades between
// observations by the visits the host misses, never slower than the long
// window.
func TestRecentRecordForgetsByObservations(t *testing.T) {
	clk := &fakeClock{now: 1}
	h := newHost(t, "a:1", 1, clk.option())
	for range 100 {
		clk.advance(10 * time.Millisecond)
		strategy.Observe(h, clk.now, time.Millisecond, true, 0)
	}
	// Then 300 successes: the recent record has forgotten the failures,
	// the long window has not.
	for range 300 {
		clk.advance(10 * time.Millisecond)
		strategy.Observe(h, clk.now, time.Millisecond, false, 1)
	}
	score, n := strategy.RecentScore(h, clk.now)
	if score < 0.99 || n < 45 || n > 55 {
		t.Fatalf("recent score %.3f over %.1f observations; want above 0.99 over about %d", score, n, strategy.DefaultMaxObservations)
	}
	if st := h.Stats(); st.RecentScore != score || st.Score > 0.8 {
		t.Fatalf("snapshot: recent %.3f (want %.3f), long-window score %.3f; it should still remember the failures", st.RecentScore, score, st.Score)
	}
	// Seen 100 times a second, it fades by e^-1 over the 0.5 s in which
	// it would have been seen 50 times.
	clk.advance(500 * time.Millisecond)
	if _, later := strategy.RecentScore(h, clk.now); math.Abs(later/n-math.Exp(-1)) > 0.05 {
		t.Fatalf("idle for 50 visits the count is %.2f of what it was, want about 1/e", later/n)
	}
}

// TestRarelySeenHostKeepsItsRecord: a host seen once every 2 s that failed
// keeps most of its record over 10 s without a visit (its 50 observations
// would take it 100 s; the long window bounds that at a minute), where a
// record that faded with the 5 s short window lost 86% of it, which is how
// a client of 1,000 backends kept going back to the bad ones.
func TestRarelySeenHostKeepsItsRecord(t *testing.T) {
	clk := &fakeClock{now: 1}
	h := newHost(t, "a:1", 1, clk.option())
	for range 20 {
		clk.advance(2 * time.Second)
		strategy.Observe(h, clk.now, time.Millisecond, true, 0)
	}
	_, n := strategy.RecentScore(h, clk.now)
	clk.advance(10 * time.Second)
	score, later := strategy.RecentScore(h, clk.now)
	if score != 0 || later < 0.8*n {
		t.Fatalf("10 s after its last visit: score %.2f over %.2f of its %.2f observations; want 0 over at least 80%%", score, later, n)
	}
	// A minute more, and it is fading as the long window does.
	clk.advance(time.Minute)
	if _, gone := strategy.RecentScore(h, clk.now); gone > 0.4*later {
		t.Fatalf("a minute later it still counts %.2f of %.2f observations; the long window bounds the memory", gone, later)
	}
}
