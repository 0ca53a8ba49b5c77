package retry_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd/lb"

	"github.com/seed41aebe0c/lbkit/retry"
)

func mustNew(t *testing.T, b lb.Balancer, opts ...retry.Option) *retry.Retrier {
	t.Helper()
	r, err := retry.New(b, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestNewRejectsBadInput(t *testing.T) {
	if _, err := retry.New(nil); !errors.Is(err, retry.ErrNilBalancer) {
		t.Fatalf("New(nil) error = %v", err)
	}
	var typedNil *hosts
	if _, err := retry.New(typedNil); !errors.Is(err, retry.ErrNilBalancer) || !errors.Is(err, retry.ErrInvalidArgument) {
		t.Fatalf("New(typed nil) error = %v, want ErrNilBalancer wrapping ErrInvalidArgument", err)
	}
	b := fixed(ok("x"))
	for name, opt := range map[string]retry.Option{
		"nil option":               nil,
		"zero attempts":            retry.WithMaxAttempts(0),
		"negative timeout":         retry.WithTimeout(-time.Second),
		"negative attempt timeout": retry.WithAttemptTimeout(-time.Second),
		"zero backoff base":        retry.WithBackoff(0, time.Second),
		"cap below base":           retry.WithBackoff(time.Second, time.Millisecond),
		"nil classifier":           retry.WithClassifier(nil),
		"nil budget":               retry.WithBudget(nil),
		"zero hedge delay":         retry.WithHedging(0),
		"percentile 1":             retry.WithHedgingPercentile(1, time.Millisecond),
		"percentile 0":             retry.WithHedgingPercentile(0, time.Millisecond),
		"percentile NaN":           retry.WithHedgingPercentile(math.NaN(), time.Millisecond),
		"no initial delay":         retry.WithHedgingPercentile(0.9, 0),
		"negative hedge cap":       retry.WithHedgeCap(-1),
		"nil callback":             retry.WithCallback(nil),
		"nil observer":             retry.WithObserver(nil),
	} {
		if _, err := retry.New(b, opt); !errors.Is(err, retry.ErrInvalidArgument) {
			t.Errorf("%s: error = %v, want ErrInvalidArgument", name, err)
		}
	}
	if _, err := retry.New(b, retry.WithHedging(time.Millisecond), retry.WithMaxAttempts(1)); !errors.Is(err, retry.ErrInvalidArgument) {
		t.Errorf("hedging with one attempt: error = %v", err)
	}
}

func TestNewDefaults(t *testing.T) {
	var calls atomic.Int64
	r := mustNew(t, fixed(sequence(&calls, errA, errA, errA, errA)), retry.WithBackoff(time.Microsecond, time.Microsecond))
	_, err := r.Endpoint()(context.Background(), nil)
	if calls.Load() != retry.DefaultMaxAttempts {
		t.Fatalf("%d attempts, want DefaultMaxAttempts", calls.Load())
	}
	if !errors.Is(err, errA) {
		t.Fatalf("err = %v", err)
	}
	if st := r.Stats(); st.Retries != retry.DefaultMaxAttempts-1 || st.Budget.Ratio != retry.DefaultBudgetRatio {
		t.Fatalf("stats %+v", st)
	}
}

func TestPermanentErrorsAreNotRetried(t *testing.T) {
	var calls atomic.Int64
	perm := retry.Permanent(errA)
	r := mustNew(t, fixed(sequence(&calls, perm, errB)))
	_, err := r.Endpoint()(context.Background(), nil)
	if calls.Load() != 1 {
		t.Fatalf("%d attempts after a permanent error", calls.Load())
	}
	if !errors.Is(err, errA) || !retry.IsPermanent(err) {
		t.Fatalf("err = %v", err)
	}
	if retry.Permanent(nil) != nil {
		t.Fatal("Permanent(nil) != nil")
	}
	if perm.Error() != errA.Error() {
		t.Fatalf("Permanent changed the message: %q", perm.Error())
	}
	wrapped := fmt.Errorf("context: %w", perm)
	if !retry.IsPermanent(wrapped) || retry.Retryable(wrapped) || !retry.Retryable(errA) {
		t.Fatal("classification of a wrapped permanent error")
	}
}

func TestClassifier(t *testing.T) {
	var calls atomic.Int64
	r := mustNew(t, fixed(sequence(&calls, errA, errB, errA)), retry.WithoutBackoff(),
		retry.WithMaxAttempts(10), retry.WithClassifier(func(err error) bool { return err == errA }))
	_, err := r.Endpoint()(context.Background(), nil)
	var re *retry.Error
	if !errors.As(err, &re) || re.Final != errB || calls.Load() != 2 {
		t.Fatalf("err %v after %d attempts; want to stop at errB after 2", err, calls.Load())
	}
}

func TestBudgetExhaustedFailsFast(t *testing.T) {
	budget, err := retry.NewBudget(0, 0, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	r := mustNew(t, fixed(sequence(&calls, errA, errA)), retry.WithBudget(budget))
	_, err = r.Endpoint()(context.Background(), nil)
	if !errors.Is(err, retry.ErrBudgetExhausted) || !errors.Is(err, errA) {
		t.Fatalf("err = %v, want ErrBudgetExhausted and errA", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("%d attempts with an empty budget", calls.Load())
	}
	if st := r.Stats(); st.BudgetExhausted != 1 || st.Budget.Exhausted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBudgetBoundsRetries(t *testing.T) {
	budget, _ := retry.NewBudget(0.1, 0, time.Minute)
	var attempts atomic.Int64
	r := mustNew(t, fixed(func(context.Context, any) (any, error) {
		attempts.Add(1)
		return nil, errA
	}), retry.WithBudget(budget), retry.WithoutBackoff(), retry.WithMaxAttempts(5))
	const requests = 1000
	for range requests {
		r.Endpoint()(context.Background(), nil)
	}
	if a := attempts.Load(); a > requests*11/10 {
		t.Fatalf("%d attempts for %d requests with a 10%% budget", a, requests)
	}
	if st := budget.Stats(); st.Requests != requests || st.Retries > requests/10 {
		t.Fatalf("budget stats %+v", st)
	}
}

func TestSharedBudget(t *testing.T) {
	budget, _ := retry.NewBudget(0, 1, time.Second) // one retry per window
	var calls atomic.Int64
	ep := fixed(func(context.Context, any) (any, error) { calls.Add(1); return nil, errA })
	r1 := mustNew(t, ep, retry.WithBudget(budget), retry.WithoutBackoff())
	r2 := mustNew(t, ep, retry.WithBudget(budget), retry.WithoutBackoff())
	r1.Endpoint()(context.Background(), nil)
	_, err := r2.Endpoint()(context.Background(), nil)
	if !errors.Is(err, retry.ErrBudgetExhausted) {
		t.Fatalf("second retrier's err = %v; the budget was not shared", err)
	}
}

func TestWithoutBudget(t *testing.T) {
	var calls atomic.Int64
	r := mustNew(t, fixed(func(context.Context, any) (any, error) { calls.Add(1); return nil, errA }),
		retry.WithoutBudget(), retry.WithoutBackoff(), retry.WithMaxAttempts(4))
	for range 100 {
		r.Endpoint()(context.Background(), nil)
	}
	if calls.Load() != 400 {
		t.Fatalf("%d attempts without budget, want 400", calls.Load())
	}
	if st := r.Stats(); st.Budget != (retry.BudgetStats{}) {
		t.Fatalf("budget stats without a budget: %+v", st.Budget)
	}
}

// No-endpoint errors are no load on any backend, so they cost no budget.
func TestNoEndpointsCostsNoBudget(t *testing.T) {
	budget, _ := retry.NewBudget(0, 0, time.Second)
	var picks atomic.Int64
	b := balancerFunc(func() (endpoint.Endpoint, error) {
		if picks.Add(1) < 3 {
			return nil, lb.ErrNoEndpoints
		}
		return ok("ok"), nil
	})
	r := mustNew(t, b, retry.WithBudget(budget))
	if resp, err := r.Endpoint()(context.Background(), nil); err != nil || resp != "ok" {
		t.Fatalf("got %v, %v", resp, err)
	}
}

func TestAttemptTimeout(t *testing.T) {
	var calls atomic.Int64
	r := mustNew(t, fixed(func(ctx context.Context, req any) (any, error) {
		if calls.Add(1) == 1 {
			return blockUntilDone(ctx, req)
		}
		return "second", nil
	}), retry.WithAttemptTimeout(20*time.Millisecond), retry.WithoutBackoff())
	resp, err := r.Endpoint()(context.Background(), nil)
	if err != nil || resp != "second" {
		t.Fatalf("got %v, %v", resp, err)
	}
	if calls.Load() != 2 {
		t.Fatalf("%d attempts", calls.Load())
	}
}

func TestOverallTimeout(t *testing.T) {
	r := mustNew(t, fixed(blockUntilDone), retry.WithTimeout(30*time.Millisecond),
		retry.WithAttemptTimeout(10*time.Millisecond), retry.WithMaxAttempts(1000), retry.WithoutBackoff(),
		retry.WithoutBudget())
	start := time.Now()
	_, err := r.Endpoint()(context.Background(), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	var re *retry.Error
	errors.As(err, &re)
	if re.Final != context.DeadlineExceeded || len(re.Attempts) < 2 {
		t.Fatalf("Final %v after %d attempts", re.Final, len(re.Attempts))
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("call took %v", el)
	}
}

func TestBackoffDoesNotOutliveDeadline(t *testing.T) {
	var calls atomic.Int64
	r := mustNew(t, fixed(func(context.Context, any) (any, error) { calls.Add(1); return nil, errA }),
		retry.WithTimeout(50*time.Millisecond), retry.WithBackoff(time.Hour, time.Hour))
	start := time.Now()
	_, err := r.Endpoint()(context.Background(), nil)
	// With an hour of jitter the wait almost surely passes the deadline:
	// the call ends at once, not after 50ms of sleep.
	if !errors.Is(err, context.DeadlineExceeded) && calls.Load() < 2 { // a wait under 50ms: odds 1 in 72000
		t.Fatalf("err %v after %d attempts", err, calls.Load())
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("call took %v", el)
	}
}

func TestBackoffWaitsBetweenAttempts(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	r := mustNew(t, fixed(func(context.Context, any) (any, error) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		return nil, errA
	}), retry.WithBackoff(20*time.Millisecond, 20*time.Millisecond), retry.WithMaxAttempts(20), retry.WithoutBudget())
	r.Endpoint()(context.Background(), nil)
	// Full jitter: each wait is uniform in [0, 20ms]; 19 waits average
	// 190ms. Far below means no back-off.
	if el := times[len(times)-1].Sub(times[0]); el < 40*time.Millisecond {
		t.Fatalf("19 jittered waits of up to 20ms took only %v", el)
	}
}

func TestBackoffInterruptedByCaller(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := mustNew(t, fixed(func(context.Context, any) (any, error) { return nil, errA }),
		retry.WithBackoff(time.Hour, time.Hour), retry.WithMaxAttempts(2))
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	// A jitter of 0 to 1h almost surely waits: the cancellation ends it.
	_, err := r.Endpoint()(ctx, nil)
	var re *retry.Error
	if !errors.As(err, &re) || (re.Final != context.Canceled && len(re.Attempts) != 2) {
		t.Fatalf("err = %v", err)
	}
}

func TestCallbackAndObserver(t *testing.T) {
	var calls atomic.Int64
	var observed []retry.Attempt
	var cbSeen []int
	replacement := errors.New("replacement")
	h := newHosts(map[string]endpoint.Endpoint{"a": sequence(&calls, errA, errA, errA), "b": sequence(&calls, errA, errA, errA)})
	r := mustNew(t, h, retry.WithoutBackoff(), retry.WithMaxAttempts(3),
		retry.WithCallback(func(n int, err error) (bool, error) {
			cbSeen = append(cbSeen, n)
			return true, replacement
		}),
		retry.WithObserver(func(a retry.Attempt) { observed = append(observed, a) }))
	resp, err := r.Endpoint()(context.Background(), nil)
	if err == nil {
		t.Fatalf("got %v; three shared failures first", resp)
	}
	var re *retry.Error
	errors.As(err, &re)
	if re.Final != replacement {
		t.Fatalf("Final = %v, want the callback's replacement", re.Final)
	}
	if fmt.Sprint(cbSeen) != "[1 2 3]" || len(observed) != 3 {
		t.Fatalf("callback saw %v, observer %d attempts", cbSeen, len(observed))
	}
	if observed[0].Host == "" || observed[0].Host == observed[1].Host {
		t.Fatalf("observed hosts %q, %q: want distinct hosts", observed[0].Host, observed[1].Host)
	}
	observed = nil
	if resp, err := r.Endpoint()(context.Background(), nil); err != nil || resp != "ok" {
		t.Fatalf("got %v, %v", resp, err)
	}
	if len(observed) != 1 || observed[0].Err != nil || observed[0].N != 1 {
		t.Fatalf("observer on success: %+v", observed)
	}
}

func TestCallbackStops(t *testing.T) {
	var calls atomic.Int64
	r := mustNew(t, fixed(sequence(&calls, errA, errA)), retry.WithCallback(func(int, error) (bool, error) { return false, nil }))
	if _, err := r.Endpoint()(context.Background(), nil); !errors.Is(err, errA) || calls.Load() != 1 {
		t.Fatalf("err %v after %d attempts", err, calls.Load())
	}
}

func TestWithoutHostAvoidance(t *testing.T) {
	h := newHosts(map[string]endpoint.Endpoint{"a": failing(errA)})
	var hostsSeen []string
	r := mustNew(t, h, retry.WithoutHostAvoidance(), retry.WithoutBackoff(),
		retry.WithObserver(func(a retry.Attempt) { hostsSeen = append(hostsSeen, a.Host) }))
	r.Endpoint()(context.Background(), nil)
	for _, host := range hostsSeen {
		if host != "" {
			t.Fatalf("host %q reported: the plain Endpoint path knows no hosts", host)
		}
	}
}

func TestClosedRetrierRefusesWork(t *testing.T) {
	r, err := retry.New(fixed(ok("x")))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := r.Endpoint()(context.Background(), nil); !errors.Is(err, retry.ErrClosed) {
		t.Fatalf("err after Close = %v", err)
	}
}
