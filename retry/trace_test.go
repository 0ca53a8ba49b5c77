package retry_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/retry"
)

// countingTracer checks the Tracer contract: every attempt's trace ends
// exactly once, the call's once, after all of its attempts.
type countingTracer struct {
	mu    sync.Mutex
	calls []*countingCall
}

type countingCall struct {
	t        *testing.T
	mu       sync.Mutex
	attempts []*countingAttempt
	ended    int
	err      error
	n        int
}

type countingAttempt struct {
	c     *countingCall
	n     int
	hedge bool
	ends  []retry.AttemptEnd
}

type ctxKey struct{}

func (ct *countingTracer) StartCall(ctx context.Context) (context.Context, retry.CallTrace) {
	c := &countingCall{}
	ct.mu.Lock()
	ct.calls = append(ct.calls, c)
	ct.mu.Unlock()
	return ctx, c
}

func (c *countingCall) StartAttempt(ctx context.Context, n int, hedge bool) (context.Context, retry.AttemptTrace) {
	a := &countingAttempt{c: c, n: n, hedge: hedge}
	c.mu.Lock()
	c.attempts = append(c.attempts, a)
	c.mu.Unlock()
	return context.WithValue(ctx, ctxKey{}, n), a
}

func (c *countingCall) End(err error, attempts int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended++
	c.err, c.n = err, attempts
}

func (a *countingAttempt) End(e retry.AttemptEnd) {
	a.c.mu.Lock()
	defer a.c.mu.Unlock()
	a.ends = append(a.ends, e)
}

// check verifies the contract for the one call traced and returns it.
func (ct *countingTracer) check(t *testing.T) *countingCall {
	t.Helper()
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if len(ct.calls) != 1 {
		t.Fatalf("%d calls traced, want 1", len(ct.calls))
	}
	c := ct.calls[0]
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended != 1 {
		t.Errorf("call trace ended %d times", c.ended)
	}
	if c.n != len(c.attempts) {
		t.Errorf("call ended with %d attempts, %d were started", c.n, len(c.attempts))
	}
	for i, a := range c.attempts {
		if a.n != i+1 {
			t.Errorf("attempt %d numbered %d", i+1, a.n)
		}
		if len(a.ends) != 1 {
			t.Errorf("attempt %d ended %d times", a.n, len(a.ends))
			continue
		}
		if a.ends[0].N != a.n {
			t.Errorf("attempt %d ended as attempt %d", a.n, a.ends[0].N)
		}
	}
	return c
}

func nexts(c *countingCall) []retry.Next {
	var out []retry.Next
	for _, a := range c.attempts {
		if len(a.ends) > 0 {
			out = append(out, a.ends[0].Next)
		}
	}
	return out
}

func equalNexts(a, b []retry.Next) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTracerSeesEveryAttemptOnce(t *testing.T) {
	boom := errors.New("boom")
	failing := func(ctx context.Context, _ any) (any, error) {
		if _, ok := ctx.Value(ctxKey{}).(int); !ok {
			t.Error("endpoint did not get the attempt's context")
		}
		return nil, boom
	}
	for _, tc := range []struct {
		name  string
		opts  []retry.Option
		ep    endpoint.Endpoint
		ctx   func() (context.Context, context.CancelFunc)
		want  []retry.Next
		isErr error
		// allStop: any number (>= 2) of attempts, each stopped by the call's end
		allStop bool
	}{
		{
			name: "inline, all fail", ep: failing,
			opts: []retry.Option{retry.WithoutBackoff()},
			want: []retry.Next{retry.NextRetry, retry.NextRetry, retry.NextStop}, isErr: boom,
		},
		{
			name: "hedged, all fail", ep: failing,
			opts: []retry.Option{retry.WithoutBackoff(), retry.WithHedging(time.Hour)},
			want: []retry.Next{retry.NextRetry, retry.NextRetry, retry.NextStop}, isErr: boom,
		},
		{
			name: "done before the first attempt", ep: failing,
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			want: nil, isErr: context.Canceled,
		},
		{
			name: "hedged, deadline with attempts running",
			ep: func(ctx context.Context, _ any) (any, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			},
			opts:    []retry.Option{retry.WithHedging(time.Millisecond), retry.WithHedgeCap(1), retry.WithTimeout(30 * time.Millisecond)},
			allStop: true, isErr: context.DeadlineExceeded,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &countingTracer{}
			r, err := retry.New(newHosts(map[string]endpoint.Endpoint{"a": tc.ep, "b": tc.ep, "c": tc.ep}), append(tc.opts, retry.WithTracer(tr))...)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ctx := context.Background()
			if tc.ctx != nil {
				var cancel context.CancelFunc
				ctx, cancel = tc.ctx()
				defer cancel()
			}
			_, err = r.Endpoint()(ctx, nil)
			if !errors.Is(err, tc.isErr) {
				t.Fatalf("err = %v, want %v", err, tc.isErr)
			}
			c := tr.check(t)
			if got := nexts(c); tc.allStop {
				if len(got) < 2 {
					t.Errorf("%d attempts, want a hedge too", len(got))
				}
				for _, n := range got {
					if n != retry.NextStop {
						t.Errorf("attempts ended with %v, want all stop", got)
						break
					}
				}
			} else if !equalNexts(got, tc.want) {
				t.Errorf("attempts ended with %v, want %v", got, tc.want)
			}
			if c.err == nil {
				t.Error("failed call's trace ended without its error")
			}
		})
	}
}
