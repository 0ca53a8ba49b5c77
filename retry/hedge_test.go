package retry_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/retry"
)

// slowHost answers after ctx ends (returning its error) or after a long
// time, and counts cancellations.
type slowHost struct {
	started, cancelled atomic.Int64
}

func (s *slowHost) endpoint(ctx context.Context, req any) (any, error) {
	s.started.Add(1)
	select {
	case <-ctx.Done():
		s.cancelled.Add(1)
		return nil, ctx.Err()
	case <-time.After(300 * time.Millisecond):
		return "slow", nil
	}
}

func TestHedgeWinsAndCancelsTheSlowAttempt(t *testing.T) {
	var slow slowHost
	h := newHosts(map[string]endpoint.Endpoint{"a-slow": slow.endpoint, "b-fast": ok("fast")})
	h.next.Store(0) // the first pick is a-slow
	var observed []retry.Attempt
	r, err := retry.New(h, retry.WithHedging(5*time.Millisecond), retry.WithHedgeCap(1), retry.WithMaxAttempts(2),
		retry.WithObserver(func(a retry.Attempt) { observed = append(observed, a) }))
	if err != nil {
		t.Fatal(err)
	}
	// A cap of 1 allows one hedge per request in the window: this call's.
	resp, err := r.Endpoint()(context.Background(), nil)
	if err != nil || resp != "fast" {
		t.Fatalf("got %v, %v; want the hedge's answer", resp, err)
	}
	if err := r.Close(); err != nil { // waits for the slow attempt's goroutine
		t.Fatal(err)
	}
	if slow.cancelled.Load() != 1 {
		t.Fatal("the losing attempt was not cancelled")
	}
	st := r.Stats()
	if st.Hedges != 1 || st.HedgeWins != 1 || st.HedgeDelay != 5*time.Millisecond {
		t.Fatalf("stats %+v", st)
	}
	if len(observed) != 1 || !observed[0].Hedge || observed[0].Host != "b-fast" {
		t.Fatalf("observed %+v", observed)
	}
}

func TestHedgeCapZeroSendsNoHedge(t *testing.T) {
	var slow slowHost
	h := newHosts(map[string]endpoint.Endpoint{"a-slow": slow.endpoint, "b-fast": ok("fast")})
	r := mustNew(t, h, retry.WithHedging(time.Millisecond), retry.WithHedgeCap(0))
	h.next.Store(0)
	resp, err := r.Endpoint()(context.Background(), nil)
	if err != nil || resp != "slow" {
		t.Fatalf("got %v, %v; with no hedge allowed the slow attempt answers", resp, err)
	}
	if st := r.Stats(); st.Hedges != 0 || st.HedgesCapped != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestHedgedCallRetriesAfterFailures(t *testing.T) {
	var calls atomic.Int64
	h := newHosts(map[string]endpoint.Endpoint{"a": sequence(&calls, errA, errB), "b": sequence(&calls, errA, errB)})
	r := mustNew(t, h, retry.WithHedging(time.Hour), retry.WithoutBackoff())
	resp, err := r.Endpoint()(context.Background(), nil)
	if err != nil || resp != "ok" {
		t.Fatalf("got %v, %v", resp, err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d attempts, want 3", calls.Load())
	}
	if st := r.Stats(); st.Retries != 2 || st.Hedges != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestHedgedCallAllAttemptsFail(t *testing.T) {
	h := newHosts(map[string]endpoint.Endpoint{"a": failing(errA), "b": failing(errB)})
	r := mustNew(t, h, retry.WithHedging(time.Hour), retry.WithoutBackoff(), retry.WithMaxAttempts(2))
	_, err := r.Endpoint()(context.Background(), nil)
	var re *retry.Error
	if !errors.As(err, &re) || len(re.Attempts) != 2 || !errors.Is(err, errA) || !errors.Is(err, errB) {
		t.Fatalf("err = %v", err)
	}
	if re.Attempts[0].Host == re.Attempts[1].Host {
		t.Fatalf("both attempts on %s", re.Attempts[0].Host)
	}
}

func TestHedgedCallPermanentErrorEndsIt(t *testing.T) {
	var slow slowHost
	h := newHosts(map[string]endpoint.Endpoint{"a-slow": slow.endpoint, "b-perm": failing(retry.Permanent(errB))})
	r := mustNew(t, h, retry.WithHedging(time.Millisecond), retry.WithHedgeCap(1000))
	h.next.Store(0)
	_, err := r.Endpoint()(context.Background(), nil)
	if !retry.IsPermanent(err) {
		t.Fatalf("err = %v, want the permanent error", err)
	}
	r.Close()
	if slow.cancelled.Load() != 1 {
		t.Fatal("the running attempt was not cancelled")
	}
}

func TestHedgedCallTimeout(t *testing.T) {
	h := newHosts(map[string]endpoint.Endpoint{"a": blockUntilDone, "b": blockUntilDone})
	r := mustNew(t, h, retry.WithHedging(5*time.Millisecond), retry.WithHedgeCap(1000),
		retry.WithTimeout(40*time.Millisecond))
	_, err := r.Endpoint()(context.Background(), nil)
	var re *retry.Error
	if !errors.As(err, &re) || re.Final != context.DeadlineExceeded {
		t.Fatalf("err = %v", err)
	}
	for _, a := range re.Attempts {
		if a.Err == nil || a.Duration <= 0 {
			t.Fatalf("attempt %+v lacks its error or duration", a)
		}
	}
}

func TestHedgedCallCallerCancels(t *testing.T) {
	h := newHosts(map[string]endpoint.Endpoint{"a": blockUntilDone})
	r := mustNew(t, h, retry.WithHedging(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(10 * time.Millisecond)
		cancel()
	}()
	if _, err := r.Endpoint()(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestHedgingPercentileLearnsDelay(t *testing.T) {
	r := mustNew(t, fixed(func(context.Context, any) (any, error) {
		time.Sleep(time.Millisecond)
		return "ok", nil
	}), retry.WithHedgingPercentile(0.9, time.Hour))
	if d := r.Stats().HedgeDelay; d != time.Hour {
		t.Fatalf("initial delay %v", d)
	}
	for range retry.LatencyMinSamples + 20 {
		if _, err := r.Endpoint()(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if d := r.Stats().HedgeDelay; d < time.Millisecond || d > time.Second {
		t.Fatalf("learnt delay %v for ~1ms calls", d)
	}
}

func TestCloseWaitsForHedgeGoroutinesAndRefusesLaunches(t *testing.T) {
	var slow slowHost
	h := newHosts(map[string]endpoint.Endpoint{"a": slow.endpoint})
	r, err := retry.New(h, retry.WithHedging(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Endpoint()(context.Background(), nil)
		done <- err
	}()
	waitFor(t, "the attempt to start", func() bool { return slow.started.Load() == 1 })
	r.Close() // returns once the attempt has (after up to 300ms)
	if err := <-done; err != nil {
		t.Fatalf("call under way at Close: %v", err)
	}
	if _, err := r.Endpoint()(context.Background(), nil); !errors.Is(err, retry.ErrClosed) {
		t.Fatalf("err after Close = %v", err)
	}
}

func TestCloseRefusesHedgesOfCallsUnderWay(t *testing.T) {
	release := make(chan struct{})
	var started atomic.Int64
	held := func(ctx context.Context, _ any) (any, error) {
		started.Add(1)
		select {
		case <-release:
			return "held", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var refused atomic.Int64
	r, err := retry.New(newHosts(map[string]endpoint.Endpoint{"a": held, "b": held}),
		retry.WithHedging(300*time.Millisecond), retry.WithHedgeCap(1000),
		retry.WithObserver(func(a retry.Attempt) {
			if errors.Is(a.Err, retry.ErrClosed) {
				refused.Add(1)
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Endpoint()(context.Background(), nil)
		done <- err
	}()
	waitFor(t, "the call to start", func() bool { return started.Load() == 1 })
	closed := make(chan struct{})
	go func() { r.Close(); close(closed) }()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	waitFor(t, "Close to refuse new calls", func() bool {
		_, err := r.Endpoint()(cancelled, nil)
		return errors.Is(err, retry.ErrClosed)
	})
	waitFor(t, "the hedge to be refused", func() bool { return refused.Load() == 1 })
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the call under way failed: %v", err)
	}
	<-closed
}

// A panic in a hedged attempt, which runs in a goroutine of the Retrier,
// reaches the caller's goroutine; the attempt goroutine ends normally, so
// Close still returns.
func TestHedgedAttemptPanicReachesCaller(t *testing.T) {
	var observed []retry.Attempt
	r, err := retry.New(fixed(func(context.Context, any) (any, error) { panic("boom") }),
		retry.WithHedging(time.Hour), retry.WithObserver(func(a retry.Attempt) { observed = append(observed, a) }))
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v, want the endpoint's panic", p)
			}
		}()
		r.Endpoint()(context.Background(), nil)
		t.Fatal("the call returned")
	}()
	if len(observed) != 1 || observed[0].Err == nil {
		t.Fatalf("observed %+v: the panicking attempt must count as a failure", observed)
	}
	done := make(chan struct{})
	go func() { r.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for an attempt goroutine that panicked")
	}
}
