package strategy_test

import (
	"math"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

func TestShortWindowDefaults(t *testing.T) {
	s := strategy.NewStats("a:1", 1)
	if s.ShortWindow() != strategy.DefaultShortWindow {
		t.Fatalf("short window %v, want %v", s.ShortWindow(), strategy.DefaultShortWindow)
	}
	if s := strategy.NewStats("a:1", 1, strategy.WithShortWindow(-time.Second)); s.ShortWindow() != strategy.DefaultShortWindow {
		t.Fatalf("a negative window must keep the default, got %v", s.ShortWindow())
	}
	score, n := s.Recent(s.Now())
	if score != 1 || n != 0 || s.PeakLatency(s.Now()) != 0 {
		t.Fatalf("new host: recent %v over %v, peak %v; want 1 over 0, 0", score, n, s.PeakLatency(s.Now()))
	}
}

func TestPeakLatencyRisesAtOnceAndFallsWithTheWindow(t *testing.T) {
	clk := &lrnClock{now: 1}
	s := strategy.NewStats("a:1", 1, strategy.WithClock(clk.read), strategy.WithShortWindow(time.Second))
	s.Observe(clk.now, 2*time.Millisecond, false, 1)
	if got := s.PeakLatency(clk.now); got != 2*time.Millisecond {
		t.Fatalf("first observation: peak %v, want 2ms", got)
	}
	clk.now += int64(time.Millisecond)
	s.Observe(clk.now, 40*time.Millisecond, false, 1)
	if got := s.PeakLatency(clk.now); got != 40*time.Millisecond {
		t.Fatalf("a slower call must set the peak at once: %v", got)
	}
	// A faster call one window later pulls it down by 1-1/e.
	clk.now += int64(time.Second)
	s.Observe(clk.now, 0, false, 1)
	want := 40 * math.Exp(-1)
	if got := float64(s.PeakLatency(clk.now)) / 1e6; math.Abs(got-want) > 0.01 {
		t.Fatalf("a window later: peak %.3fms, want %.3fms", got, want)
	}
	// Left alone, it decays towards zero, so that an idle host is retried.
	clk.now += int64(3 * time.Second)
	if got := float64(s.PeakLatency(clk.now)) / 1e6; math.Abs(got-want*math.Exp(-3)) > 0.01 {
		t.Fatalf("idle for three windows: peak %.3fms, want %.3fms", got, want*math.Exp(-3))
	}
}

func TestRecentScoreForgetsWithTheShortWindow(t *testing.T) {
	clk := &lrnClock{now: 1}
	s := strategy.NewStats("a:1", 1, strategy.WithClock(clk.read), strategy.WithWindow(time.Minute), strategy.WithShortWindow(time.Second))
	for range 100 {
		clk.now += int64(10 * time.Millisecond)
		s.Observe(clk.now, time.Millisecond, true, 0)
	}
	// Then a few seconds of success: the short window has forgotten the
	// failures, the long one has not.
	for range 300 {
		clk.now += int64(10 * time.Millisecond)
		s.Observe(clk.now, time.Millisecond, false, 1)
	}
	score, n := s.Recent(clk.now)
	if score < 0.95 || n < 50 || n > 110 {
		t.Fatalf("recent score %.3f over %.1f observations; want above 0.95 over about a window's worth (100)", score, n)
	}
	if s.Score() > 0.8 {
		t.Fatalf("the long window's score is %.3f; it should still remember the failures", s.Score())
	}
	// The count fades between observations.
	clk.now += int64(2 * time.Second)
	if _, later := s.Recent(clk.now); math.Abs(later-n*math.Exp(-2)) > 0.01*n {
		t.Fatalf("two windows later the count is %.2f, want %.2f", later, n*math.Exp(-2))
	}
}
