package strategy_test

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// fakeClock is a settable clock for deterministic decay tests.
type fakeClock struct{ now int64 }

func (c *fakeClock) read() int64             { return c.now }
func (c *fakeClock) advance(d time.Duration) { c.now += int64(d) }

func TestStatsNewHostIsOptimistic(t *testing.T) {
	s := strategy.NewStats("a:1", 0)
	if s.Score() != 1 || s.Latency() != 0 || s.Observations(s.Now()) != 0 || s.Weight() != 1 {
		t.Fatalf("new stats: score %v latency %v obs %v weight %d", s.Score(), s.Latency(), s.Observations(0), s.Weight())
	}
	if s.Address() != "a:1" {
		t.Fatalf("address %q", s.Address())
	}
}

func TestStatsScoreDecays(t *testing.T) {
	clk := &fakeClock{now: 1}
	s := strategy.NewStats("a:1", 1, strategy.WithClock(clk.read), strategy.WithWindow(time.Second))
	for range 10 {
		st := s.Begin()
		clk.advance(10 * time.Millisecond)
		s.Done(st, true, 0)
	}
	if s.Score() > 0.001 {
		t.Fatalf("score after 10 failures = %v, want 0", s.Score())
	}
	if s.Failures() != 10 || s.Requests() != 10 || s.InFlight() != 0 {
		t.Fatalf("counts: failures %d requests %d inflight %d", s.Failures(), s.Requests(), s.InFlight())
	}
	if got := s.Latency(); got != 10*time.Millisecond {
		t.Fatalf("latency = %v, want 10ms", got)
	}
	// Five windows later the failures weigh e^-5 each: one success
	// dominates the mean.
	clk.advance(5 * time.Second)
	st := s.Begin()
	s.Done(st, false, 1)
	if s.Score() < 0.9 {
		t.Fatalf("score after decay and one success = %v, want > 0.9", s.Score())
	}
	obs := s.Observations(clk.now)
	if obs < 1 || obs > 1.1 {
		t.Fatalf("observations = %v, want about 1.07", obs)
	}
	// Observations decay towards zero with time, without new data.
	if later := s.Observations(clk.now + int64(3*time.Second)); math.Abs(later-obs*math.Exp(-3)) > 1e-9 {
		t.Fatalf("decayed observations = %v, want %v", later, obs*math.Exp(-3))
	}
}

func TestStatsClampsScores(t *testing.T) {
	clk := &fakeClock{now: 1}
	s := strategy.NewStats("a:1", 1, strategy.WithClock(clk.read))
	s.Observe(s.Now(), -time.Second, false, 7)
	if s.Score() != 1 || s.Latency() != 0 {
		t.Fatalf("score %v latency %v after clamping", s.Score(), s.Latency())
	}
	s.Observe(s.Now(), time.Millisecond, true, math.NaN())
	if s.Score() != 0.5 {
		t.Fatalf("score %v, want 0.5 after NaN counted as 0", s.Score())
	}
}

func TestStatsAbandonDoesNotObserve(t *testing.T) {
	s := strategy.NewStats("a:1", 1)
	st := s.Begin()
	if s.InFlight() != 1 {
		t.Fatal("Begin did not count in flight")
	}
	s.Abandon(st)
	if s.InFlight() != 0 || s.Requests() != 0 || s.Score() != 1 {
		t.Fatalf("abandon changed stats: inflight %d requests %d score %v", s.InFlight(), s.Requests(), s.Score())
	}
}

func TestStatsWeight(t *testing.T) {
	s := strategy.NewStats("a:1", 5)
	if s.Weight() != 5 {
		t.Fatal(s.Weight())
	}
	s.SetWeight(-3)
	if s.Weight() != 1 {
		t.Fatalf("negative weight stored as %d", s.Weight())
	}
	if d := strategy.NewStats("a", 1, strategy.WithWindow(-1)).Window(); d != strategy.DefaultWindow {
		t.Fatalf("bad window kept: %v", d)
	}
}

func TestStatsConcurrentUpdates(t *testing.T) {
	s := strategy.NewStats("a:1", 1)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				st := s.Begin()
				_ = s.Score() + float64(s.Latency()) + s.Observations(s.Now())
				s.Done(st, (g+i)%2 == 0, float64((g+i)%2))
			}
		}()
	}
	wg.Wait()
	if s.InFlight() != 0 || s.Requests() != 8000 || s.Failures() != 4000 {
		t.Fatalf("inflight %d requests %d failures %d", s.InFlight(), s.Requests(), s.Failures())
	}
	if sc := s.Score(); sc < 0.3 || sc > 0.7 {
		t.Fatalf("score %v, want about 0.5", sc)
	}
}

func TestStatsRecordingDoesNotAllocate(t *testing.T) {
	s := strategy.NewStats("a:1", 1)
	if n := testing.AllocsPerRun(1000, func() { s.Done(s.Begin(), false, 1) }); n != 0 {
		t.Fatalf("Begin+Done allocates %v times", n)
	}
}
