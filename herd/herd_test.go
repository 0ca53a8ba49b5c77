package herd_test

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/metrics/generic"
	"go.uber.org/goleak"

	"github.com/seed41aebe0c/lbkit/herd"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type item = herd.Work[int, int]

func newHerd(t *testing.T, fn herd.Func[int, int], opts ...herd.Option) *herd.Herd[int, int] {
	t.Helper()
	h, err := herd.New(fn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// sendAll sends bodies 0..n-1 from a goroutine and closes the input.
func sendAll(t *testing.T, h *herd.Herd[int, int], n int) {
	go func() {
		for i := range n {
			if err := h.Send(context.Background(), item{ID: string(rune('a' + i%26)), Body: i}); err != nil {
				t.Errorf("Send %d: %v", i, err)
				return
			}
		}
		h.CloseInput()
	}()
}

// collect reads the output until it closes, with a generous deadline.
func collect(t *testing.T, h *herd.Herd[int, int]) []item {
	t.Helper()
	var out []item
	deadline := time.After(20 * time.Second)
	for {
		select {
		case w, ok := <-h.Output():
			if !ok {
				sort.Slice(out, func(i, j int) bool { return out[i].Body < out[j].Body })
				return out
			}
			out = append(out, w)
		case <-deadline:
			t.Fatalf("output not closed; %d items so far", len(out))
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func addTen(_ context.Context, w *item) herd.Status {
	w.Result = w.Body + 10
	return herd.Success
}

func TestNewRejectsBadInput(t *testing.T) {
	if _, err := herd.New[int, int](nil); !errors.Is(err, herd.ErrInvalidArgument) {
		t.Fatalf("nil function: %v", err)
	}
	for name, opt := range map[string]herd.Option{
		"negative size":            herd.WithSize(-1),
		"negative retries":         herd.WithMaxRetries(-1),
		"negative retry delay":     herd.WithRetryDelay(-time.Second),
		"negative buffer":          herd.WithOutputBuffer(-1),
		"nil logger":               herd.WithLogger(nil),
		"typed nil logger":         herd.WithLogger((*nilLogger)(nil)),
		"nil option":               nil,
		"nil callback":             herd.OnSuccess[int, int](nil),
		"callback of another type": herd.OnFailure(func(*herd.Work[string, string]) {}),
	} {
		if h, err := herd.New(addTen, opt); !errors.Is(err, herd.ErrInvalidArgument) {
			if h != nil {
				_ = h.Close()
			}
			t.Errorf("%s: got %v, want ErrInvalidArgument", name, err)
		}
	}
}

// nilLogger is a log.Logger whose nil pointer passes a plain nil check.
type nilLogger struct{}

func (*nilLogger) Log(...any) error { return nil }

func TestRunsAllWork(t *testing.T) {
	h := newHerd(t, addTen, herd.WithSize(4))
	sendAll(t, h, 100)
	out := collect(t, h)
	if len(out) != 100 {
		t.Fatalf("got %d items, want 100", len(out))
	}
	for i, w := range out {
		if w.Body != i || w.Result != i+10 || w.Status() != herd.Success || w.Attempts() != 1 || w.Err != nil {
			t.Fatalf("item %d: %+v status %v attempts %d", i, w, w.Status(), w.Attempts())
		}
	}
	st := h.Stats()
	if st.Succeeded != 100 || st.Failed != 0 || st.Retried != 0 || st.Running != 0 || !st.InputClosed || st.Size != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRetriesCallbacksAndMetrics(t *testing.T) {
	// Bodies: 0 mod 3 succeeds on the third attempt; 1 mod 3 always asks
	// for a retry; 2 mod 3 fails at once.
	fn := func(_ context.Context, w *item) herd.Status {
		switch w.Body % 3 {
		case 0:
			if w.Attempts() < 3 {
				return herd.Retry
			}
			w.Result = w.Body
			return herd.Success
		case 1:
			return herd.Retry
		}
		w.Err = errors.New("refused")
		return herd.Failure
	}
	var mu sync.Mutex
	calls := map[string]int{}
	note := func(kind string) func(*item) {
		return func(w *item) {
			mu.Lock()
			calls[kind]++
			if kind == "retry" && w.Status() != herd.Retry {
				calls["retry with wrong status"]++
			}
			mu.Unlock()
		}
	}
	m := herd.Metrics{
		Success: generic.NewCounter("success"),
		Retry:   generic.NewCounter("retry"),
		Failure: generic.NewCounter("failure"),
		Size:    generic.NewGauge("size"),
		Busy:    generic.NewGauge("busy"),
	}
	h := newHerd(t, fn, herd.WithSize(3), herd.WithMaxRetries(3), herd.WithRetryDelay(time.Millisecond),
		herd.WithMetrics(&m), herd.OnSuccess(note("success")), herd.OnRetry(note("retry")), herd.OnFailure(note("failure")))
	sendAll(t, h, 30)
	out := collect(t, h)

	for _, w := range out {
		switch w.Body % 3 {
		case 0:
			if w.Status() != herd.Success || w.Attempts() != 3 {
				t.Fatalf("item %d: %v after %d attempts", w.Body, w.Status(), w.Attempts())
			}
		case 1:
			if w.Status() != herd.Failure || w.Attempts() != 4 || !errors.Is(w.Err, herd.ErrRetriesExhausted) {
				t.Fatalf("item %d: %v after %d attempts, err %v", w.Body, w.Status(), w.Attempts(), w.Err)
			}
		case 2:
			if w.Status() != herd.Failure || w.Attempts() != 1 || w.Err == nil || w.Err.Error() != "refused" {
				t.Fatalf("item %d: %v after %d attempts, err %v", w.Body, w.Status(), w.Attempts(), w.Err)
			}
		}
	}
	// 10 successes after 2 retries each; 10 exhausted after 3 retries;
	// 10 plain failures.
	want := map[string]int{"success": 10, "retry": 50, "failure": 20}
	mu.Lock()
	for k, v := range want {
		if calls[k] != v {
			t.Errorf("%s callbacks: %d, want %d (all: %v)", k, calls[k], v, calls)
		}
	}
	mu.Unlock()
	if s, r, f := m.Success.(*generic.Counter).Value(), m.Retry.(*generic.Counter).Value(), m.Failure.(*generic.Counter).Value(); s != 10 || r != 50 || f != 20 {
		t.Errorf("metrics success %v retry %v failure %v", s, r, f)
	}
	if sz, busy := m.Size.(*generic.Gauge).Value(), m.Busy.(*generic.Gauge).Value(); sz != 3 || busy != 0 {
		t.Errorf("gauges size %v busy %v", sz, busy)
	}
	if st := h.Stats(); st.Succeeded != 10 || st.Retried != 50 || st.Failed != 20 {
		t.Errorf("stats %+v", st)
	}
}

func TestRetriesOff(t *testing.T) {
	h := newHerd(t, func(context.Context, *item) herd.Status { return herd.Retry }, herd.WithMaxRetries(0))
	sendAll(t, h, 1)
	out := collect(t, h)
	if len(out) != 1 || out[0].Status() != herd.Failure || out[0].Attempts() != 1 || !errors.Is(out[0].Err, herd.ErrRetriesExhausted) {
		t.Fatalf("got %+v", out)
	}
}

func TestInvalidStatusAndPanicFailTheItemOnly(t *testing.T) {
	fn := func(_ context.Context, w *item) herd.Status {
		switch w.Body {
		case 0:
			return herd.Status(42)
		case 1:
			panic("boom")
		case 2:
			return herd.Pending
		}
		return herd.Success
	}
	h := newHerd(t, fn, herd.WithSize(1))
	sendAll(t, h, 4)
	out := collect(t, h)
	if len(out) != 4 {
		t.Fatalf("got %d items", len(out))
	}
	if !errors.Is(out[0].Err, herd.ErrInvalidStatus) || !errors.Is(out[2].Err, herd.ErrInvalidStatus) {
		t.Fatalf("invalid statuses: %v, %v", out[0].Err, out[2].Err)
	}
	if !errors.Is(out[1].Err, herd.ErrPanicked) || out[1].Status() != herd.Failure {
		t.Fatalf("panic: %v %v", out[1].Status(), out[1].Err)
	}
	if out[3].Status() != herd.Success {
		t.Fatal("the herd did not carry on after a panic")
	}
}

func TestBoundedAndResizable(t *testing.T) {
	proceed := make(chan struct{})
	var current, peak atomic.Int64
	fn := func(ctx context.Context, w *item) herd.Status {
		n := current.Add(1)
		for {
			if old := peak.Load(); n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		defer current.Add(-1)
		select {
		case <-proceed:
			return herd.Success
		case <-ctx.Done():
			return herd.Failure
		}
	}
	h := newHerd(t, fn, herd.WithSize(2), herd.WithOutputBuffer(100))
	sendAll(t, h, 20)
	busy := func(n int) func() bool { return func() bool { return h.Stats().Busy == n } }

	waitFor(t, "two busy workers", busy(2))
	if peak.Load() != 2 {
		t.Fatalf("peak %d with size 2", peak.Load())
	}
	if err := h.Resize(5); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "five busy workers", busy(5))

	if err := h.Resize(1); err != nil {
		t.Fatal(err)
	}
	if h.Size() != 1 {
		t.Fatalf("Size %d after Resize(1)", h.Size())
	}
	// The five items under way finish; four workers leave; one goes on.
	for range 5 {
		proceed <- struct{}{}
	}
	waitFor(t, "one worker left", func() bool { st := h.Stats(); return st.Running == 1 && st.Busy == 1 })
	peak.Store(1)
	for range 15 {
		proceed <- struct{}{}
	}
	out := collect(t, h)
	if len(out) != 20 {
		t.Fatalf("got %d items", len(out))
	}
	if peak.Load() != 1 {
		t.Fatalf("peak %d after shrinking to 1", peak.Load())
	}
}

func TestSizeZeroTakesNoWork(t *testing.T) {
	h := newHerd(t, addTen, herd.WithSize(0))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := h.Send(ctx, item{Body: 1}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send with no worker: %v", err)
	}
	if err := h.Resize(1); err != nil {
		t.Fatal(err)
	}
	sendAll(t, h, 3)
	if out := collect(t, h); len(out) != 3 {
		t.Fatalf("got %d items", len(out))
	}
}

func TestCloseInputOnAnEmptyHerdClosesOutput(t *testing.T) {
	h := newHerd(t, addTen, herd.WithSize(0))
	h.CloseInput()
	h.CloseInput() // idempotent
	if _, ok := <-h.Output(); ok {
		t.Fatal("output open")
	}
	if err := h.Send(context.Background(), item{}); !errors.Is(err, herd.ErrInputClosed) {
		t.Fatalf("Send after CloseInput: %v", err)
	}
	if err := h.Resize(3); err != nil { // allowed, but starts no one
		t.Fatal(err)
	}
	if st := h.Stats(); st.Size != 3 || st.Running != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestClose(t *testing.T) {
	started := make(chan struct{}, 1)
	var sawCancel atomic.Bool
	h, err := herd.New(func(ctx context.Context, w *item) herd.Status {
		started <- struct{}{}
		<-ctx.Done()
		sawCancel.Store(true)
		return herd.Retry
	}, herd.WithSize(1))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.Send(context.Background(), item{Body: 1}) }()
	<-started
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil { // idempotent
		t.Fatalf("second Close: %v", err)
	}
	if !sawCancel.Load() {
		t.Fatal("the function's context was not cancelled")
	}
	if _, ok := <-h.Output(); ok {
		t.Fatal("output open after Close (or an unfinished item emitted)")
	}
	if err := h.Send(context.Background(), item{}); !errors.Is(err, herd.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if err := h.Resize(2); !errors.Is(err, herd.ErrClosed) {
		t.Fatalf("Resize after Close: %v", err)
	}
	if err := h.Resize(-1); !errors.Is(err, herd.ErrInvalidArgument) {
		t.Fatalf("Resize(-1): %v", err)
	}
	h.CloseInput() // harmless
	if st := h.Stats(); !st.Closed || st.Running != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStatusString(t *testing.T) {
	for s, want := range map[herd.Status]string{
		herd.Pending: "pending", herd.Success: "success", herd.Retry: "retry", herd.Failure: "failure", herd.Status(9): "status(9)",
	} {
		if s.String() != want {
			t.Errorf("%d: %q, want %q", int(s), s.String(), want)
		}
	}
}
