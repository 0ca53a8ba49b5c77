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
	// The default short window is DefaultShortWindow: one observation's
	// weight falls to 1/e over it.
	strategy.Observe(h, clk.now, time.Millisecond, false, 1)
	clk.advance(strategy.DefaultShortWindow)
	if _, n := strategy.RecentScore(h, clk.now); math.Abs(n-math.Exp(-1)) > 1e-4 {
		t.Fatalf("one observation, one default short window later, counts %v; want 1/e", n)
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

func TestRecentScoreForgetsWithTheShortWindow(t *testing.T) {
	clk := &fakeClock{now: 1}
	h := newHost(t, "a:1", 1, clk.option(), strategy.WithWindow(time.Minute), strategy.WithShortWindow(time.Second))
	for range 100 {
		clk.advance(10 * time.Millisecond)
		strategy.Observe(h, clk.now, time.Millisecond, true, 0)
	}
	// Then a few seconds of success: the short window has forgotten the
	// failures, the long one has not.
	for range 300 {
		clk.advance(10 * time.Millisecond)
		strategy.Observe(h, clk.now, time.Millisecond, false, 1)
	}
	score, n := strategy.RecentScore(h, clk.now)
	if score < 0.95 || n < 50 || n > 110 {
		t.Fatalf("recent score %.3f over %.1f observations; want above 0.95 over about a window's worth (100)", score, n)
	}
	if st := h.Stats(); st.RecentScore != score || st.Score > 0.8 {
		t.Fatalf("snapshot: recent %.3f (want %.3f), long-window score %.3f; it should still remember the failures", st.RecentScore, score, st.Score)
	}
	// The count fades between observations.
	clk.advance(2 * time.Second)
	if _, later := strategy.RecentScore(h, clk.now); math.Abs(later-n*math.Exp(-2)) > 0.01*n {
		t.Fatalf("two windows later the count is %.2f, want %.2f", later, n*math.Exp(-2))
	}
}
