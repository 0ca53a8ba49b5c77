package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// fakeClock is a settable clock for deterministic decay tests.
type fakeClock struct{ now int64 }

func (c *fakeClock) read() time.Duration     { return time.Duration(c.now) }
func (c *fakeClock) advance(d time.Duration) { c.now += int64(d) }

// option makes a host read c.
func (c *fakeClock) option() strategy.Option { return strategy.WithClock(c.read) }

// newHost is strategy.NewHost, failing tb on error.
func newHost(tb testing.TB, address string, weight int, opts ...strategy.Option) *strategy.Host {
	tb.Helper()
	h, err := strategy.NewHost(address, weight, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// errBackend is a host's failure.
var errBackend = errors.New("backend failed")

func TestHostNewIsOptimistic(t *testing.T) {
	h := newHost(t, "a:1", 0)
	st := h.Stats()
	if st.Score != 1 || st.Latency != 0 || st.RecentScore != 1 || st.PeakLatency != 0 || st.Weight != 1 || st.Priority != 0 {
		t.Fatalf("new host: %+v", st)
	}
	if n := strategy.Observations(h, strategy.Now(h)); n != 0 {
		t.Fatalf("new host: %v observations", n)
	}
	if h.Address() != "a:1" || st.Address != "a:1" {
		t.Fatalf("address %q, snapshot %q", h.Address(), st.Address)
	}
}

func TestHostScoreDecays(t *testing.T) {
	clk := &fakeClock{now: 1}
	h := newHost(t, "a:1", 1, clk.option(), strategy.WithWindow(time.Second))
	for range 10 {
		start := h.Begin()
		clk.advance(10 * time.Millisecond)
		h.Record(context.Background(), start, errBackend)
	}
	st := h.Stats()
	if st.Score > 0.001 {
		t.Fatalf("score after 10 failures = %v, want 0", st.Score)
	}
	if st.Failures != 10 || st.Requests != 10 || st.Started != 10 || st.InFlight != 0 {
		t.Fatalf("counts: %+v", st)
	}
	if st.Latency != 10*time.Millisecond {
		t.Fatalf("latency = %v, want 10ms", st.Latency)
	}
	// Five windows later the failures weigh e^-5 each: one success
	// dominates the mean.
	clk.advance(5 * time.Second)
	h.Record(context.Background(), h.Begin(), nil)
	if sc := h.Stats().Score; sc < 0.9 {
		t.Fatalf("score after decay and one success = %v, want > 0.9", sc)
	}
	obs := strategy.Observations(h, clk.now)
	if obs < 1 || obs > 1.1 {
		t.Fatalf("observations = %v, want about 1.07", obs)
	}
	// Observations decay towards zero with time, without new data.
	if later := strategy.Observations(h, clk.now+int64(3*time.Second)); math.Abs(later-obs*math.Exp(-3)) > 1e-9 {
		t.Fatalf("decayed observations = %v, want %v", later, obs*math.Exp(-3))
	}
}

func TestRecordScoreClampsScores(t *testing.T) {
	clk := &fakeClock{now: 1}
	h := newHost(t, "a:1", 1, clk.option())
	// A start after the end (a caller's Start from elsewhere) is a
	// latency of zero, not a negative one.
	h.Begin()
	h.RecordScore(context.Background(), strategy.Start(clk.now+int64(time.Second)), nil, 7)
	if st := h.Stats(); st.Score != 1 || st.Latency != 0 || st.Failures != 0 {
		t.Fatalf("after a score of 7 and a negative latency: %+v", st)
	}
	h.RecordScore(context.Background(), h.Begin(), nil, math.NaN())
	if sc := h.Stats().Score; sc != 0.5 {
		t.Fatalf("score %v, want 0.5 after NaN counted as 0", sc)
	}
	h.RecordScore(context.Background(), h.Begin(), nil, -3)
	if sc := h.Stats().Score; math.Abs(sc-1.0/3) > 1e-9 {
		t.Fatalf("score %v, want 1/3 after -3 counted as 0", sc)
	}
	// An error counts as a failure whatever the score; the score is the
	// caller's.
	h.RecordScore(context.Background(), h.Begin(), errBackend, 1)
	if st := h.Stats(); st.Failures != 1 || st.Requests != 4 || math.Abs(st.Score-0.5) > 1e-9 || st.InFlight != 0 {
		t.Fatalf("after a failure scored 1: %+v", st)
	}
}

// TestRecordCancellationRule is lbkit's one rule about cancellation: a
// failure while the caller's own context is cancelled is the caller's, not
// the host's; running out of time is the host's.
func TestRecordCancellationRule(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel2()
	wrapped := fmt.Errorf("calling a:1: %w", context.Canceled)

	for _, tc := range []struct {
		name     string
		ctx      context.Context
		err      error
		counted  bool // an observation is recorded
		failures uint64
	}{
		{"caller cancelled", cancelled, context.Canceled, false, 0},
		{"caller cancelled, host error", cancelled, errBackend, false, 0},
		{"caller cancelled, yet success", cancelled, nil, true, 0},
		{"deadline exceeded", expired, context.DeadlineExceeded, true, 1},
		{"deadline exceeded, wrapped", expired, fmt.Errorf("x: %w", context.DeadlineExceeded), true, 1},
		// With a context, only the context tells: a host that answers
		// "cancelled" to a caller who did not cancel failed.
		{"live context, Canceled error", context.Background(), wrapped, true, 1},
		{"nil context, Canceled error", nil, wrapped, false, 0},
		{"nil context, deadline error", nil, context.DeadlineExceeded, true, 1},
		{"nil context, host error", nil, errBackend, true, 1},
		{"nil context, success", nil, nil, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scored := 0
			scorer := func(err error, lat time.Duration) (float64, bool) {
				scored++
				return strategy.ErrorScorer(err, lat)
			}
			for _, record := range []struct {
				how string
				do  func(h *strategy.Host, start strategy.Start)
			}{
				{"Record", func(h *strategy.Host, start strategy.Start) { h.Record(tc.ctx, start, tc.err) }},
				{"RecordScore", func(h *strategy.Host, start strategy.Start) { h.RecordScore(tc.ctx, start, tc.err, 0.5) }},
			} {
				scored = 0
				h := newHost(t, "a:1", 1, strategy.WithScorer(scorer))
				record.do(h, h.Begin())
				st := h.Stats()
				if st.InFlight != 0 || st.Started != 1 {
					t.Errorf("%s: in flight %d, started %d; want 0 and 1", record.how, st.InFlight, st.Started)
				}
				want := uint64(0)
				if tc.counted {
					want = 1
				}
				if st.Requests != want || st.Failures != tc.failures {
					t.Errorf("%s: requests %d, failures %d; want %d and %d", record.how, st.Requests, st.Failures, want, tc.failures)
				}
				if !tc.counted && st.Score != 1 {
					t.Errorf("%s: an abandoned call changed the score to %v", record.how, st.Score)
				}
				if record.how == "Record" && (scored == 1) != tc.counted {
					t.Errorf("Record: scorer called %d times; an abandoned call must not be scored, a counted one once", scored)
				}
			}
		})
	}
}

func TestRecordUsesTheHostsScorer(t *testing.T) {
	clk := &fakeClock{now: 1}
	lat, err := strategy.LatencyScorer(10 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	h := newHost(t, "a:1", 1, clk.option(), strategy.WithScorer(lat))
	start := h.Begin()
	clk.advance(40 * time.Millisecond)
	h.Record(context.Background(), start, nil)
	if st := h.Stats(); st.Score != 0.25 || st.Failures != 0 || st.Latency != 40*time.Millisecond {
		t.Fatalf("a success at 4× the target: %+v; want score 0.25, no failure, 40ms", st)
	}
	// Without WithScorer, ErrorScorer: any success scores 1.
	h = newHost(t, "b:1", 1, clk.option())
	start = h.Begin()
	clk.advance(time.Hour)
	h.Record(context.Background(), start, nil)
	if sc := h.Stats().Score; sc != 1 {
		t.Fatalf("default scorer rated a slow success %v", sc)
	}
}

func TestScorers(t *testing.T) {
	if s, f := strategy.ErrorScorer(nil, time.Hour); s != strategy.HostUp || f {
		t.Errorf("ErrorScorer(success) = %v, %v", s, f)
	}
	if s, f := strategy.ErrorScorer(errBackend, 0); s != strategy.HostDown || !f {
		t.Errorf("ErrorScorer(failure) = %v, %v", s, f)
	}
	for _, target := range []time.Duration{0, -time.Millisecond} {
		sc, err := strategy.LatencyScorer(target)
		if !errors.Is(err, strategy.ErrInvalidArgument) || sc != nil {
			t.Errorf("LatencyScorer(%v) = %v, %v; want nil and ErrInvalidArgument", target, sc != nil, err)
		}
	}
	sc, err := strategy.LatencyScorer(2 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		err    error
		lat    time.Duration
		score  float64
		failed bool
	}{
		{nil, 0, 1, false},
		{nil, 2 * time.Millisecond, 1, false},
		{nil, 4 * time.Millisecond, 0.5, false},
		{nil, 20 * time.Millisecond, 0.1, false},
		{errBackend, time.Microsecond, 0, true},
	} {
		if s, f := sc(tc.err, tc.lat); math.Abs(s-tc.score) > 1e-12 || f != tc.failed {
			t.Errorf("LatencyScorer(2ms)(%v, %v) = %v, %v; want %v, %v", tc.err, tc.lat, s, f, tc.score, tc.failed)
		}
	}
}

func TestHostAbandonDoesNotObserve(t *testing.T) {
	h := newHost(t, "a:1", 1)
	start := h.Begin()
	if h.InFlight() != 1 {
		t.Fatal("Begin did not count in flight")
	}
	h.Abandon(start)
	if st := h.Stats(); st.InFlight != 0 || st.Requests != 0 || st.Started != 1 || st.Score != 1 {
		t.Fatalf("abandon changed stats: %+v", st)
	}
}

func TestHostWeightAndPriority(t *testing.T) {
	h := newHost(t, "a:1", 5)
	if h.Weight() != 5 {
		t.Fatal(h.Weight())
	}
	h.SetWeight(-3)
	if h.Weight() != 1 {
		t.Fatalf("negative weight stored as %d", h.Weight())
	}
	h.SetPriority(2)
	if st := h.Stats(); h.Priority() != 2 || st.Priority != 2 || st.Weight != 1 {
		t.Fatalf("priority %d, snapshot %+v", h.Priority(), st)
	}
}

func TestHostOptionErrors(t *testing.T) {
	for name, opt := range map[string]strategy.Option{
		"nil option":        nil,
		"zero window":       strategy.WithWindow(0),
		"negative window":   strategy.WithWindow(-time.Second),
		"zero short window": strategy.WithShortWindow(0),
		"negative short":    strategy.WithShortWindow(-time.Second),
		"nil clock":         strategy.WithClock(nil),
		"nil scorer":        strategy.WithScorer(nil),
	} {
		h, err := strategy.NewHost("a:1", 1, opt)
		if !errors.Is(err, strategy.ErrInvalidArgument) || h != nil {
			t.Errorf("NewHost with %s: %v, %v; want nil and an error wrapping ErrInvalidArgument", name, h, err)
		}
		set, err := strategy.NewHostSet[int](strategy.PeakEWMA{}, opt)
		if !errors.Is(err, strategy.ErrInvalidArgument) || set != nil {
			t.Errorf("NewHostSet with %s: %v, %v; want nil and an error wrapping ErrInvalidArgument", name, set, err)
		}
	}
}

func TestHostConcurrentUpdates(t *testing.T) {
	h := newHost(t, "a:1", 1)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				start := h.Begin()
				_ = h.Stats()
				var err error
				if (g+i)%2 == 0 {
					err = errBackend
				}
				h.Record(context.Background(), start, err)
			}
		}()
	}
	wg.Wait()
	st := h.Stats()
	if st.InFlight != 0 || st.Requests != 8000 || st.Failures != 4000 || st.Started != 8000 {
		t.Fatalf("after the load: %+v", st)
	}
	if st.Score < 0.3 || st.Score > 0.7 {
		t.Fatalf("score %v, want about 0.5", st.Score)
	}
}

func TestHostRecordingDoesNotAllocate(t *testing.T) {
	h := newHost(t, "a:1", 1)
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() { h.Record(ctx, h.Begin(), nil) }); n != 0 {
		t.Fatalf("Begin+Record allocates %v times", n)
	}
	if n := testing.AllocsPerRun(1000, func() { h.Record(ctx, h.Begin(), errBackend) }); n != 0 {
		t.Fatalf("Begin+Record of a failure allocates %v times", n)
	}
	if n := testing.AllocsPerRun(1000, func() { h.RecordScore(nil, h.Begin(), nil, 0.5) }); n != 0 {
		t.Fatalf("Begin+RecordScore allocates %v times", n)
	}
}
