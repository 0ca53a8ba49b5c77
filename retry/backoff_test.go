package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
)

func TestBackoffIsCappedExponentialWithFullJitter(t *testing.T) {
	c := defaultConfig()
	if d := c.backoff; d.Min != DefaultBackoffBase || d.Max != DefaultBackoffCap || d.Jitter != backoff.Full {
		t.Fatalf("default back-off %+v", d)
	}
	if err := WithBackoff(10, 100)(&c); err != nil {
		t.Fatal(err)
	}
	top := c.backoff
	top.Rand = func(n int64) int64 { return n - 1 }
	for k, want := range map[int]time.Duration{1: 10, 2: 20, 3: 40, 5: 100, 60: 100} {
		if got := top.Delay(k); got != want {
			t.Errorf("longest wait before retry %d = %v, want %v", k, got, want)
		}
	}
	bottom := c.backoff
	bottom.Rand = func(int64) int64 { return 0 }
	if got := bottom.Delay(3); got != 0 {
		t.Errorf("shortest wait = %v, want 0 (full jitter)", got)
	}
	for range 1000 {
		if d := fullJitter(time.Millisecond, time.Second).Delay(4); d < 0 || d > 8*time.Millisecond {
			t.Fatalf("jittered wait %v outside [0, 8ms]", d)
		}
	}
	if err := WithoutBackoff()(&c); err != nil {
		t.Fatal(err)
	}
	if d := c.backoff.Delay(3); d != 0 {
		t.Fatalf("wait without back-off %v", d)
	}
	for k, want := range map[int]time.Duration{1: time.Millisecond, 2: 2 * time.Millisecond, 6: 32 * time.Millisecond, 7: 50 * time.Millisecond} {
		if got := noEndpointsBackoff.Delay(k); got != want {
			t.Errorf("wait after %d ErrNoEndpoints = %v, want %v", k, got, want)
		}
	}
}

// The Retrier's waits come from its policy, whose randomness a test can
// fix: a wait that would end past the deadline ends the call at once.
func TestBackoffPastDeadlineEndsCallAtOnce(t *testing.T) {
	calls := 0
	fail := endpoint.Endpoint(func(context.Context, any) (any, error) { calls++; return nil, errors.New("down") })
	b := balancerOf(fail)
	r, err := New(b, WithTimeout(time.Minute), WithBackoff(time.Hour, time.Hour), WithoutBudget())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.cfg.backoff.Rand = func(n int64) int64 { return n - 1 } // the longest wait
	start := time.Now()
	_, err = r.Endpoint()(context.Background(), nil)
	if !errors.Is(err, context.DeadlineExceeded) || calls != 1 {
		t.Fatalf("err %v after %d attempts; want DeadlineExceeded after 1", err, calls)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("call took %v: it slept", el)
	}

	r.cfg.backoff.Rand = func(int64) int64 { return 0 } // no wait at all
	calls = 0
	if _, err := r.Endpoint()(context.Background(), nil); calls != DefaultMaxAttempts || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v after %d attempts; want %d attempts", err, calls, DefaultMaxAttempts)
	}
}

// balancerOf is a go-kit balancer that always returns ep.
type balancerOf endpoint.Endpoint

func (b balancerOf) Endpoint() (endpoint.Endpoint, error) { return endpoint.Endpoint(b), nil }
