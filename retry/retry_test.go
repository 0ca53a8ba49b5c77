package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd/lb"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// lbkit's balancer steers retries away from hosts already tried; this is
// the one interface beyond go-kit's that the retry asks of it.
var _ retry.EndpointAvoider = (*loadbalancer.Balancer)(nil)

var (
	errA       = errors.New("a failed")
	errB       = errors.New("b failed")
	errTooSlow = errors.New("test endpoint gave up waiting")
)

// sequence is an endpoint that returns errs in turn, then succeeds.
func sequence(calls *atomic.Int64, errs ...error) endpoint.Endpoint {
	return func(context.Context, any) (any, error) {
		n := calls.Add(1)
		if int(n) <= len(errs) {
			return nil, errs[n-1]
		}
		return "ok", nil
	}
}

func TestRetrySucceedsAfterFailures(t *testing.T) {
	var calls atomic.Int64
	ep := retry.Retry(3, time.Second, fixed(sequence(&calls, errA, errB)))
	resp, err := ep(context.Background(), nil)
	if err != nil || resp != "ok" {
		t.Fatalf("got %v, %v; want ok", resp, err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d attempts, want 3", calls.Load())
	}
}

func TestRetryMaxAttempts(t *testing.T) {
	for _, c := range []struct{ max, want int }{{3, 3}, {1, 1}, {0, 1}, {-5, 1}} {
		t.Run(fmt.Sprint("max=", c.max), func(t *testing.T) {
			var calls atomic.Int64
			ep := retry.Retry(c.max, time.Second, fixed(sequence(&calls, errA, errA, errA, errA, errB)))
			_, err := ep(context.Background(), nil)
			if int(calls.Load()) != c.want {
				t.Fatalf("%d attempts, want %d", calls.Load(), c.want)
			}
			var re *retry.Error
			if !errors.As(err, &re) {
				t.Fatalf("error %T %v is not a *retry.Error", err, err)
			}
			if len(re.RawErrors) != c.want || len(re.Attempts) != c.want || re.Final != errA {
				t.Fatalf("RawErrors %v, Attempts %d, Final %v", re.RawErrors, len(re.Attempts), re.Final)
			}
			if !errors.Is(err, errA) {
				t.Fatal("errors.Is does not find the attempts' error")
			}
		})
	}
}

func TestRetryErrorListsEveryAttempt(t *testing.T) {
	var calls atomic.Int64
	ep := retry.Retry(2, time.Second, fixed(sequence(&calls, errA, errB)))
	_, err := ep(context.Background(), nil)
	if !errors.Is(err, errA) || !errors.Is(err, errB) {
		t.Fatalf("errors.Is misses an attempt: %v", err)
	}
	var gk lb.RetryError
	if !errors.As(err, &gk) {
		t.Fatal("errors.As into go-kit's lb.RetryError failed")
	}
	if len(gk.RawErrors) != 2 || gk.RawErrors[0] != errA || gk.Final != errB {
		t.Fatalf("lb.RetryError = %+v", gk)
	}
	msg := err.Error()
	for _, want := range []string{"a failed", "b failed", "2 attempts"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

// TestRetryTimeoutKeepsAttempts is go-kit's defect: on timeout it returns
// the bare context error and loses what the attempts said.
func TestRetryTimeoutKeepsAttempts(t *testing.T) {
	var calls atomic.Int64
	ep := retry.Retry(100, 50*time.Millisecond, fixed(func(ctx context.Context, req any) (any, error) {
		if calls.Add(1) == 1 {
			return nil, errA
		}
		return blockUntilDone(ctx, req)
	}))
	_, err := ep(context.Background(), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if !errors.Is(err, errA) {
		t.Fatalf("the first attempt's error is lost: %v", err)
	}
	var re *retry.Error
	errors.As(err, &re)
	if re.Final != context.DeadlineExceeded || len(re.Attempts) != 2 {
		t.Fatalf("Final %v, %d attempts; want DeadlineExceeded, 2", re.Final, len(re.Attempts))
	}
	if re.Attempts[1].Duration < 40*time.Millisecond {
		t.Fatalf("second attempt lasted %v, want about the timeout", re.Attempts[1].Duration)
	}
}

func TestRetryDeadlineVisibleToEndpoint(t *testing.T) {
	var got time.Duration
	ep := retry.Retry(1, time.Hour, fixed(func(ctx context.Context, _ any) (any, error) {
		d, ok := ctx.Deadline()
		if !ok {
			return nil, errors.New("no deadline")
		}
		got = time.Until(d)
		return "ok", nil
	}))
	if _, err := ep(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got < 59*time.Minute || got > time.Hour {
		t.Fatalf("endpoint saw a deadline %v away, want about 1h", got)
	}
}

func TestRetryPassesEarlierCallerDeadlineThrough(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var seen context.Context
	ep := retry.Retry(1, time.Hour, fixed(func(c context.Context, _ any) (any, error) {
		seen = c
		return "ok", nil
	}))
	if _, err := ep(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if seen != ctx {
		t.Fatal("the caller's context, whose deadline is earlier, was replaced")
	}
}

func TestRetryNonPositiveTimeoutMeansNoTimeout(t *testing.T) {
	for _, timeout := range []time.Duration{0, -time.Second} {
		ep := retry.Retry(1, timeout, fixed(func(ctx context.Context, _ any) (any, error) {
			if _, ok := ctx.Deadline(); ok {
				return nil, errors.New("unexpected deadline")
			}
			return "ok", nil
		}))
		if _, err := ep(context.Background(), nil); err != nil {
			t.Fatalf("timeout %v: %v", timeout, err)
		}
	}
}

func TestRetryContextCancelledAfterReturn(t *testing.T) {
	var kept context.Context
	ep := retry.Retry(1, time.Hour, fixed(func(ctx context.Context, _ any) (any, error) {
		kept = ctx
		return "ok", nil
	}))
	if _, err := ep(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// As with go-kit's deferred cancel, work the endpoint left behind sees
	// the call's context end.
	select {
	case <-kept.Done():
	default:
		t.Fatal("context still live after the call returned")
	}
	if !errors.Is(kept.Err(), context.Canceled) {
		t.Fatalf("Err = %v", kept.Err())
	}
}

func TestRetryEndpointChildContextsEnd(t *testing.T) {
	var child context.Context
	ep := retry.Retry(1, time.Hour, fixed(func(ctx context.Context, _ any) (any, error) {
		var cancel context.CancelFunc
		child, cancel = context.WithCancel(ctx)
		_ = cancel // deliberately left to the retry's end
		return "ok", nil
	}))
	if _, err := ep(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-child.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("child context outlived the call")
	}
}

func TestRetryRunsInline(t *testing.T) {
	var stacks []string
	var calls atomic.Int64
	inner := sequence(&calls, errA, errA)
	ep := retry.Retry(3, time.Second, fixed(func(ctx context.Context, req any) (any, error) {
		buf := make([]byte, 1<<16)
		stacks = append(stacks, string(buf[:runtime.Stack(buf, false)]))
		return inner(ctx, req)
	}))
	if _, err := ep(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for i, s := range stacks {
		if !strings.Contains(s, "TestRetryRunsInline") {
			t.Fatalf("attempt %d did not run in the caller's goroutine:\n%s", i+1, s)
		}
	}
}

func TestRetryCallerCancellationStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	ep := retry.Retry(10, time.Minute, fixed(func(c context.Context, req any) (any, error) {
		calls.Add(1)
		cancel()
		return blockUntilDone(c, req)
	}))
	_, err := ep(ctx, nil)
	if !errors.Is(err, context.Canceled) || calls.Load() != 1 {
		t.Fatalf("err %v after %d attempts; want Canceled after 1", err, calls.Load())
	}
}

func TestRetryWithCallback(t *testing.T) {
	var calls atomic.Int64
	replacement := errors.New("replaced")
	var seen []int
	cb := func(n int, received error) (bool, error) {
		seen = append(seen, n)
		if n == 2 {
			return false, replacement
		}
		return true, nil
	}
	ep := retry.RetryWithCallback(time.Second, fixed(sequence(&calls, errA, errB, errA)), cb)
	_, err := ep(context.Background(), nil)
	var re *retry.Error
	if !errors.As(err, &re) || re.Final != replacement {
		t.Fatalf("err = %v, want Final = replacement", err)
	}
	if len(re.RawErrors) != 2 || re.RawErrors[1] != errB {
		t.Fatalf("RawErrors %v, want the raw errors", re.RawErrors)
	}
	if fmt.Sprint(seen) != "[1 2]" {
		t.Fatalf("callback saw attempts %v", seen)
	}
}

// A go-kit lb.Callback value passes without conversion.
func TestRetryWithGoKitCallbackType(t *testing.T) {
	var cb lb.Callback = func(n int, _ error) (bool, error) { return n < 2, nil }
	var calls atomic.Int64
	ep := retry.RetryWithCallback(time.Second, fixed(sequence(&calls, errA, errA, errA)), cb)
	if _, err := ep(context.Background(), nil); err == nil || calls.Load() != 2 {
		t.Fatalf("err %v after %d attempts", err, calls.Load())
	}
}

func TestRetryWithNilCallbackKeepsTryingUntilTimeout(t *testing.T) {
	var calls atomic.Int64
	ep := retry.RetryWithCallback(30*time.Millisecond, fixed(func(ctx context.Context, req any) (any, error) {
		if calls.Add(1) < 5 {
			return nil, errA
		}
		return blockUntilDone(ctx, req)
	}), nil)
	_, err := ep(context.Background(), nil)
	if !errors.Is(err, context.DeadlineExceeded) || calls.Load() != 5 {
		t.Fatalf("err %v after %d attempts", err, calls.Load())
	}
}

func TestRetryNilBalancerDoesNotPanic(t *testing.T) {
	var typedNil *loadbalancer.Balancer
	var nilFunc balancerFunc
	for _, ep := range []endpoint.Endpoint{
		retry.Retry(3, time.Second, nil),
		retry.RetryWithCallback(time.Second, nil, nil),
		retry.Retry(3, time.Second, typedNil),
		retry.Retry(3, time.Second, nilFunc),
	} {
		if _, err := ep(context.Background(), nil); !errors.Is(err, retry.ErrNilBalancer) {
			t.Fatalf("err = %v, want ErrNilBalancer", err)
		}
	}
}

func TestRetryNilEndpointFromBalancer(t *testing.T) {
	ep := retry.Retry(2, time.Second, balancerFunc(func() (endpoint.Endpoint, error) { return nil, nil }))
	if _, err := ep(context.Background(), nil); !errors.Is(err, retry.ErrNilEndpoint) {
		t.Fatalf("err = %v, want ErrNilEndpoint", err)
	}
}

// ErrNoEndpoints is retried after short, growing waits, never in a spin
// (go-kit starts a goroutine per spin until the timeout).
func TestRetryNoEndpointsDoesNotSpin(t *testing.T) {
	var picks atomic.Int64
	b := balancerFunc(func() (endpoint.Endpoint, error) {
		picks.Add(1)
		return nil, lb.ErrNoEndpoints
	})
	start := time.Now()
	_, err := retry.RetryWithCallback(200*time.Millisecond, b, nil)(context.Background(), nil)
	if !errors.Is(err, lb.ErrNoEndpoints) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	// Waits of 1, 2, 4 ... 50 ms fit about ten picks in 200 ms.
	if n := picks.Load(); n > 20 {
		t.Fatalf("%d picks in %v: spinning", n, time.Since(start))
	}
}

func TestRetryNoEndpointsThenDiscovery(t *testing.T) {
	pub, err := static.NewAddresses()
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	bal, err := loadbalancer.New(pub, func(string) (endpoint.Endpoint, io.Closer, error) {
		return ok("found"), nil, nil
	}, loadbalancer.WithStrategy(strategy.RoundRobin{}))
	if err != nil {
		t.Fatal(err)
	}
	defer bal.Close()
	var attempts atomic.Int64
	ep := retry.RetryWithCallback(10*time.Second, bal, func(n int, err error) (bool, error) {
		if attempts.Add(1) == 3 {
			// Discovery delivers while the call waits.
			if err := pub.Replace(publisher.FromAddresses("10.0.0.1:80")...); err != nil {
				t.Error(err)
			}
		}
		return errors.Is(err, loadbalancer.ErrNoEndpoints), nil
	})
	resp, err := ep(context.Background(), nil)
	if err != nil || resp != "found" {
		t.Fatalf("got %v, %v", resp, err)
	}
}

func TestRetryAvoidsTriedHostsWithLbkitBalancer(t *testing.T) {
	h := newHosts(map[string]endpoint.Endpoint{
		"a": failing(errA), "b": failing(errB), "c": ok("c"),
	})
	for range 30 {
		resp, err := retry.Retry(3, time.Second, h)(context.Background(), nil)
		if err != nil || resp != "c" {
			t.Fatalf("got %v, %v; with 3 attempts on 3 hosts one must reach c", resp, err)
		}
	}
}

// go-kit's contract: no attempt starts on a done context, not even the
// first, and the call fails with the context's error.
func TestRetryNoAttemptOnDoneContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var calls, picks atomic.Int64
	b := balancerFunc(func() (endpoint.Endpoint, error) {
		picks.Add(1)
		return func(context.Context, any) (any, error) { calls.Add(1); return "ok", nil }, nil
	})
	for name, ep := range map[string]endpoint.Endpoint{
		"Retry":             retry.Retry(3, time.Second, b),
		"RetryWithCallback": retry.RetryWithCallback(0, b, nil),
		"New":               mustNew(t, b).Endpoint(),
		"New hedged":        mustNew(t, b, retry.WithHedging(time.Millisecond)).Endpoint(),
	} {
		_, err := ep(ctx, nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want Canceled", name, err)
		}
	}
	if calls.Load() != 0 || picks.Load() != 0 {
		t.Fatalf("%d picks and %d attempts on a done context", picks.Load(), calls.Load())
	}
}

// An endpoint that ignores its context and succeeds after the timeout has
// answered too late: go-kit's call has returned the deadline error by then,
// and so does ours (later, since the attempt runs inline).
func TestRetryLateSuccessIsDeadlineError(t *testing.T) {
	ep := retry.Retry(3, 20*time.Millisecond, fixed(func(context.Context, any) (any, error) {
		time.Sleep(60 * time.Millisecond)
		return "late", nil
	}))
	resp, err := ep(context.Background(), nil)
	if resp != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, %v; want the deadline error", resp, err)
	}
	var re *retry.Error
	if !errors.As(err, &re) || len(re.Attempts) != 1 || re.Attempts[0].Duration < 60*time.Millisecond {
		t.Fatalf("err %v: want the one late attempt with its duration", err)
	}
}

func TestRetryKeepsContextValues(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	for name, ep := range map[string]endpoint.Endpoint{
		"own timeout":     retry.Retry(1, time.Hour, fixed(func(c context.Context, _ any) (any, error) { return c.Value(key{}), nil })),
		"attempt timeout": mustNew(t, fixed(func(c context.Context, _ any) (any, error) { return c.Value(key{}), nil }), retry.WithAttemptTimeout(time.Hour)).Endpoint(),
	} {
		if got, err := ep(ctx, nil); got != "v" || err != nil {
			t.Errorf("%s: the endpoint saw value %v (%v)", name, got, err)
		}
	}
}

// Every host failing at once must not make RetryWithCallback with a nil
// callback spin: go-kit's retries at once for ever (720,020 attempts in
// 1.3 s, a 20.8 MB error string). After a few immediate retries the
// attempts are paced, and the error keeps only the first and last few.
func TestRetryEveryHostFailingInstantlyBacksOffAndBoundsTheError(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    func(ep endpoint.Endpoint) lb.Balancer
	}{
		{"EndpointAvoider", func(ep endpoint.Endpoint) lb.Balancer {
			return newHosts(map[string]endpoint.Endpoint{"a": ep, "b": ep, "c": ep})
		}},
		{"go-kit balancer", fixed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			var attempts, late atomic.Int64
			ep := func(context.Context, any) (any, error) {
				attempts.Add(1)
				if time.Since(start) > 500*time.Millisecond {
					late.Add(1)
				}
				return nil, errA
			}
			// No timeout of the retry's own: the caller's deadline ends it.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := retry.RetryWithCallback(0, tc.b(ep), nil)(ctx, nil)
			if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errA) {
				t.Fatalf("err = %.200v", err)
			}
			n, l := attempts.Load(), late.Load()
			t.Logf("%d attempts in 1 s, %d in the last 0.5 s (%.0f/s)", n, l, float64(l)/0.5)
			// Paced at up to PacingMax apart, a second holds about 30
			// attempts, its last half about 10; the bounds leave room.
			if maxLate := int64(500*time.Millisecond/retry.PacingMax) + 5; n > 100 || l > maxLate {
				t.Fatalf("%d attempts in 1 s, %d in the last half (want at most %d): no back-off", n, l, maxLate)
			}
			if n <= retry.ImmediateRetries {
				t.Fatalf("%d attempts: the first retries are immediate", n)
			}
			var re *retry.Error
			if !errors.As(err, &re) || len(re.Attempts) != retry.MaxErrorAttempts || len(re.RawErrors) != len(re.Attempts) || int64(re.Total) != n {
				t.Fatalf("the error keeps %d of %d attempts (made %d)", len(re.Attempts), re.Total, n)
			}
			half := retry.MaxErrorAttempts / 2
			for i, a := range re.Attempts {
				want := i + 1
				if i >= half {
					want = re.Total - len(re.Attempts) + i + 1
				}
				if a.N != want || a.Err != errA {
					t.Fatalf("kept attempt %d is #%d (%v), want #%d: the first and last %d, in order", i, a.N, a.Err, want, half)
				}
			}
			s := err.Error()
			if len(s) > 4096 || !strings.Contains(s, fmt.Sprintf("after %d attempts", n)) || !strings.Contains(s, fmt.Sprintf("(%d more)", re.Total-retry.MaxErrorAttempts)) {
				t.Fatalf("error string of %d bytes: %.300s", len(s), s)
			}
		})
	}
}

// A closed balancer cannot come back: the call ends at once with its
// error, even with no timeout at all, rather than waiting for endpoints
// like on an empty balancer.
func TestRetryEndsAtOnceOnClosedBalancer(t *testing.T) {
	if c, ok := loadbalancer.ErrClosed.(retry.ClosedError); !ok || !c.Closed() || !errors.Is(c, loadbalancer.ErrNoEndpoints) {
		t.Fatal("loadbalancer.ErrClosed is not a retry.ClosedError wrapping ErrNoEndpoints")
	}
	pub, err := static.NewAddresses()
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	bal, err := loadbalancer.New(pub, func(string) (endpoint.Endpoint, io.Closer, error) {
		return ok("ok"), nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A call waiting on the empty balancer when it closes.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	waiting := make(chan error, 1)
	go func() {
		_, err := retry.RetryWithCallback(0, bal, nil)(ctx, nil)
		waiting <- err
	}()
	time.Sleep(20 * time.Millisecond)
	closed := time.Now()
	bal.Close()
	if err := <-waiting; !errors.Is(err, loadbalancer.ErrClosed) || time.Since(closed) > time.Second {
		t.Fatalf("call under way: err %.300v %v after Close", err, time.Since(closed))
	}
	for name, ep := range map[string]endpoint.Endpoint{
		"Retry":             retry.Retry(1000, 0, bal),
		"RetryWithCallback": retry.RetryWithCallback(0, bal, nil),
		"New":               mustNew(t, bal, retry.WithMaxAttempts(1000), retry.WithoutBudget()).Endpoint(),
		"New hedged":        mustNew(t, bal, retry.WithMaxAttempts(1000), retry.WithHedging(time.Millisecond)).Endpoint(),
	} {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := ep(ctx, nil)
		cancel()
		var re *retry.Error
		if !errors.Is(err, loadbalancer.ErrClosed) || !errors.As(err, &re) || len(re.Attempts) != 1 || time.Since(start) > time.Second {
			t.Errorf("%s: err %.300v after %v", name, err, time.Since(start))
		}
	}
}

// A late success is the deadline error for every form of the retry (the
// hedged one returns at the deadline, the inline ones when the attempt
// returns), and lbkit's balancer still records it as the host's success:
// the host answered; the caller was too impatient.
func TestLateSuccessIsDeadlineErrorButRecordedForTheHost(t *testing.T) {
	for name, mk := range map[string]func(b lb.Balancer) endpoint.Endpoint{
		"Retry":             func(b lb.Balancer) endpoint.Endpoint { return retry.Retry(3, 20*time.Millisecond, b) },
		"RetryWithCallback": func(b lb.Balancer) endpoint.Endpoint { return retry.RetryWithCallback(20*time.Millisecond, b, nil) },
		"New": func(b lb.Balancer) endpoint.Endpoint {
			return mustNew(t, b, retry.WithTimeout(20*time.Millisecond)).Endpoint()
		},
		"New hedged": func(b lb.Balancer) endpoint.Endpoint {
			return mustNew(t, b, retry.WithTimeout(20*time.Millisecond), retry.WithHedging(time.Hour)).Endpoint()
		},
	} {
		t.Run(name, func(t *testing.T) {
			pub, err := static.NewAddresses("a")
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Stop()
			bal, err := loadbalancer.New(pub, func(string) (endpoint.Endpoint, io.Closer, error) {
				return func(context.Context, any) (any, error) {
					time.Sleep(60 * time.Millisecond) // ignores its context
					return "late", nil
				}, nil, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			defer bal.Close()
			resp, err := mk(bal)(context.Background(), nil)
			if resp != nil || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, %v; want the deadline error", resp, err)
			}
			waitFor(t, "the late success recorded", func() bool {
				h := bal.Status().Hosts[0]
				return h.Requests == 1 && h.InFlight == 0
			})
			if h := bal.Status().Hosts[0]; h.Failures != 0 || h.Started != 1 {
				t.Fatalf("host %+v: the late success must count as the host's success", h)
			}
		})
	}
}

// A panicking endpoint under an inline retry reaches the caller as a
// panic, and the balancer has recorded it as a failure and released the
// host's in-flight count.
func TestRetryEndpointPanicReachesCallerAndReleasesHost(t *testing.T) {
	pub, err := static.NewAddresses("a")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	bal, err := loadbalancer.New(pub, func(string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) { panic("handler bug") }, nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer bal.Close()
	for name, ep := range map[string]endpoint.Endpoint{
		"Retry": retry.Retry(3, time.Second, bal),
		"New":   mustNew(t, bal).Endpoint(),
	} {
		func() {
			defer func() {
				if p := recover(); p != "handler bug" {
					t.Fatalf("%s: recovered %v, want the endpoint's panic", name, p)
				}
			}()
			ep(context.Background(), nil)
			t.Fatalf("%s: the call returned", name)
		}()
	}
	if h := bal.Status().Hosts[0]; h.InFlight != 0 || h.Failures != 2 {
		t.Fatalf("host %+v: want 2 failures and nothing in flight", h)
	}
}
