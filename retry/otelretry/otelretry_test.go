package otelretry_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/retry/otelretry"
	"github.com/seed41aebe0c/lbkit/strategy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder returns a tracer provider that keeps every ended span.
func recorder(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, rec
}

// balancer is lbkit's round-robin balancer over in-process endpoints, one
// per address, made by mk.
func balancer(t *testing.T, mk func(addr string) endpoint.Endpoint, addrs ...string) *loadbalancer.Balancer {
	t.Helper()
	p, err := static.NewAddresses(addrs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	b, err := loadbalancer.New(p, func(instance string) (endpoint.Endpoint, io.Closer, error) {
		return mk(instance), nil, nil
	}, loadbalancer.WithStrategy(strategy.RoundRobin{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func attr(s sdktrace.ReadOnlySpan, k attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if kv.Key == k {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func mustAttr(t *testing.T, s sdktrace.ReadOnlySpan, k attribute.Key) attribute.Value {
	t.Helper()
	v, ok := attr(s, k)
	if !ok {
		t.Fatalf("span %s has no %s; has %v", s.Name(), k, s.Attributes())
	}
	return v
}

// split returns the call span and the attempt spans, in attempt order, and
// checks that every attempt is a child of the call.
func split(t *testing.T, spans []sdktrace.ReadOnlySpan) (sdktrace.ReadOnlySpan, []sdktrace.ReadOnlySpan) {
	t.Helper()
	var call sdktrace.ReadOnlySpan
	var attempts []sdktrace.ReadOnlySpan
	for _, s := range spans {
		switch s.Name() {
		case otelretry.DefaultCallSpanName:
			if call != nil {
				t.Fatal("two call spans")
			}
			call = s
		case otelretry.DefaultAttemptSpanName:
			attempts = append(attempts, s)
		default:
			t.Fatalf("unexpected span %q", s.Name())
		}
	}
	if call == nil {
		t.Fatalf("no call span among %d", len(spans))
	}
	byN := make([]sdktrace.ReadOnlySpan, len(attempts))
	for _, a := range attempts {
		if a.Parent().SpanID() != call.SpanContext().SpanID() {
			t.Errorf("attempt span's parent is %v, not the call %v", a.Parent().SpanID(), call.SpanContext().SpanID())
		}
		n := int(mustAttr(t, a, otelretry.AttemptKey).AsInt64())
		if n < 1 || n > len(byN) || byN[n-1] != nil {
			t.Fatalf("attempt numbers are not 1..%d: got %d", len(byN), n)
		}
		byN[n-1] = a
	}
	return call, byN
}

func TestRetriedCallHasASpanPerAttempt(t *testing.T) {
	tp, rec := recorder(t)
	tracer, err := otelretry.New(tp, otelretry.WithBalancerName("upper"))
	if err != nil {
		t.Fatal(err)
	}
	// The first host called fails, the other answers; each endpoint
	// remembers the span context it was called with.
	var mu sync.Mutex
	seen := map[string]trace.SpanContext{}
	var first string
	b := balancer(t, func(addr string) endpoint.Endpoint {
		return func(ctx context.Context, _ any) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			seen[addr] = trace.SpanContextFromContext(ctx)
			if first == "" || first == addr {
				first = addr
				return nil, errors.New("boom")
			}
			return "ok", nil
		}
	}, "127.0.0.1:1", "127.0.0.1:2")
	r, err := retry.New(b, retry.WithTracer(tracer))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Endpoint()(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	call, attempts := split(t, rec.Ended())
	if len(attempts) != 2 {
		t.Fatalf("%d attempt spans, want 2", len(attempts))
	}
	if got := mustAttr(t, call, otelretry.AttemptsKey).AsInt64(); got != 2 {
		t.Errorf("call span says %d attempts, want 2", got)
	}
	if got := mustAttr(t, call, otelretry.BalancerKey).AsString(); got != "upper" {
		t.Errorf("balancer attribute %q", got)
	}
	if call.Status().Code != codes.Unset {
		t.Errorf("successful call has status %v", call.Status())
	}
	other := map[string]string{"127.0.0.1:1": "127.0.0.1:2", "127.0.0.1:2": "127.0.0.1:1"}[first]
	firstHost := first
	a1, a2 := attempts[0], attempts[1]
	if got := mustAttr(t, a1, otelretry.HostKey).AsString(); got != firstHost {
		t.Errorf("first attempt host %q, want %q", got, firstHost)
	}
	if got := mustAttr(t, a1, otelretry.NextKey).AsString(); got != "retry" {
		t.Errorf("first attempt next %q, want retry", got)
	}
	if got := mustAttr(t, a1, otelretry.BudgetKey).AsString(); got != "granted" {
		t.Errorf("first attempt budget %q, want granted", got)
	}
	if got := mustAttr(t, a1, otelretry.BackoffKey).AsFloat64(); got < 0 || got > retry.DefaultBackoffCap.Seconds() {
		t.Errorf("back-off %v s out of range", got)
	}
	if a1.Status().Code != codes.Error || len(a1.Events()) == 0 {
		t.Errorf("failed attempt: status %v, %d events; want Error with the error recorded", a1.Status(), len(a1.Events()))
	}
	if got := mustAttr(t, a2, otelretry.HostKey).AsString(); got != other {
		t.Errorf("second attempt host %q, want %q", got, other)
	}
	if got := mustAttr(t, a2, otelretry.NextKey).AsString(); got != "done" {
		t.Errorf("second attempt next %q, want done", got)
	}
	if a2.Status().Code != codes.Unset {
		t.Errorf("successful attempt has status %v", a2.Status())
	}
	// Each endpoint ran under its own attempt's span.
	for i, host := range []string{firstHost, other} {
		if got, want := seen[host].SpanID(), attempts[i].SpanContext().SpanID(); got != want {
			t.Errorf("endpoint of %s ran under span %v, want attempt %d's %v", host, got, i+1, want)
		}
	}
}

func TestFailedCallSaysWhyItStopped(t *testing.T) {
	tp, rec := recorder(t)
	tracer, _ := otelretry.New(tp)
	boom := errors.New("boom")
	b := balancer(t, func(string) endpoint.Endpoint {
		return func(context.Context, any) (any, error) { return nil, boom }
	}, "127.0.0.1:1", "127.0.0.1:2")
	r, _ := retry.New(b, retry.WithTracer(tracer), retry.WithMaxAttempts(2), retry.WithoutBackoff())
	defer r.Close()
	if _, err := r.Endpoint()(context.Background(), nil); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	call, attempts := split(t, rec.Ended())
	if len(attempts) != 2 {
		t.Fatalf("%d attempts", len(attempts))
	}
	if call.Status().Code != codes.Error {
		t.Errorf("failed call has status %v", call.Status())
	}
	last := attempts[1]
	if got := mustAttr(t, last, otelretry.NextKey).AsString(); got != "stop" {
		t.Errorf("last attempt next %q, want stop", got)
	}
	if got := mustAttr(t, last, otelretry.StopKey).AsString(); got != "boom" {
		t.Errorf("stop reason %q, want boom", got)
	}
}

func TestPermanentErrorStopsWithoutAskingTheBudget(t *testing.T) {
	tp, rec := recorder(t)
	tracer, _ := otelretry.New(tp)
	b := balancer(t, func(string) endpoint.Endpoint {
		return func(context.Context, any) (any, error) { return nil, retry.Permanent(errors.New("bad request")) }
	}, "127.0.0.1:1")
	r, _ := retry.New(b, retry.WithTracer(tracer))
	defer r.Close()
	_, _ = r.Endpoint()(context.Background(), nil)
	_, attempts := split(t, rec.Ended())
	if len(attempts) != 1 {
		t.Fatalf("%d attempts, want 1", len(attempts))
	}
	if got := mustAttr(t, attempts[0], otelretry.NextKey).AsString(); got != "stop" {
		t.Errorf("next %q", got)
	}
	if v, ok := attr(attempts[0], otelretry.BudgetKey); ok {
		t.Errorf("budget asked for a permanent error: %v", v.AsString())
	}
}

func TestBudgetDenialIsOnTheAttempt(t *testing.T) {
	tp, rec := recorder(t)
	tracer, _ := otelretry.New(tp)
	budget, err := retry.NewBudget(0.01, 0, time.Minute) // nothing to spend at first
	if err != nil {
		t.Fatal(err)
	}
	b := balancer(t, func(string) endpoint.Endpoint {
		return func(context.Context, any) (any, error) { return nil, errors.New("boom") }
	}, "127.0.0.1:1", "127.0.0.1:2")
	r, _ := retry.New(b, retry.WithTracer(tracer), retry.WithBudget(budget))
	defer r.Close()
	if _, err := r.Endpoint()(context.Background(), nil); !errors.Is(err, retry.ErrBudgetExhausted) {
		t.Fatalf("err = %v, want budget exhausted", err)
	}
	_, attempts := split(t, rec.Ended())
	if len(attempts) != 1 {
		t.Fatalf("%d attempts", len(attempts))
	}
	if got := mustAttr(t, attempts[0], otelretry.BudgetKey).AsString(); got != "denied" {
		t.Errorf("budget %q, want denied", got)
	}
	if got := mustAttr(t, attempts[0], otelretry.StopKey).AsString(); got != retry.ErrBudgetExhausted.Error() {
		t.Errorf("stop reason %q", got)
	}
}

func TestHedgeSpansShowTheWinnerAndTheAbandoned(t *testing.T) {
	tp, rec := recorder(t)
	tracer, _ := otelretry.New(tp)
	release := make(chan struct{})
	defer close(release)
	var calls atomic.Int32
	b := balancer(t, func(string) endpoint.Endpoint {
		return func(ctx context.Context, _ any) (any, error) {
			if calls.Add(1) == 1 { // the first call is slow: the hedge on the other host wins
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-release:
					return "late", nil
				}
			}
			return "fast", nil
		}
	}, "127.0.0.1:1", "127.0.0.1:2")
	r, err := retry.New(b, retry.WithTracer(tracer), retry.WithHedging(5*time.Millisecond), retry.WithHedgeCap(1))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	resp, err := r.Endpoint()(context.Background(), nil)
	if err != nil || resp != "fast" {
		t.Fatalf("resp %v err %v", resp, err)
	}
	call, attempts := split(t, rec.Ended())
	if len(attempts) != 2 {
		t.Fatalf("%d attempts", len(attempts))
	}
	if call.Status().Code != codes.Unset {
		t.Errorf("call status %v", call.Status())
	}
	if got := mustAttr(t, attempts[0], otelretry.NextKey).AsString(); got != "abandoned" {
		t.Errorf("slow first attempt next %q, want abandoned", got)
	}
	if attempts[0].Status().Code != codes.Unset {
		t.Errorf("abandoned attempt has status %v", attempts[0].Status())
	}
	if !mustAttr(t, attempts[1], otelretry.HedgeKey).AsBool() {
		t.Error("second attempt not marked as a hedge")
	}
	if got := mustAttr(t, attempts[1], otelretry.NextKey).AsString(); got != "done" {
		t.Errorf("hedge next %q, want done", got)
	}
}

// TestTraceReachesTheBackend calls real HTTP servers on 127.0.0.1 through
// go-kit's HTTP client with W3C trace-context propagation: each server
// sees the trace of the attempt that called it.
func TestTraceReachesTheBackend(t *testing.T) {
	tp, rec := recorder(t)
	tracer, _ := otelretry.New(tp)
	prop := propagation.TraceContext{}
	var failed atomic.Bool
	var calls atomic.Int32
	var mu sync.Mutex
	got := map[string]trace.SpanContext{} // server URL -> span context it saw
	mkServer := func() *httptest.Server {
		var srv *httptest.Server
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sc := trace.SpanContextFromContext(prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header)))
			mu.Lock()
			got[srv.Listener.Addr().String()] = sc
			mu.Unlock()
			if calls.Add(1) == 1 { // the first request anywhere fails
				failed.Store(true)
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, "ok")
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	s1, s2 := mkServer(), mkServer()
	b := balancer(t, func(addr string) endpoint.Endpoint {
		u, _ := url.Parse("http://" + addr + "/")
		return httptransport.NewClient(http.MethodGet, u,
			func(context.Context, *http.Request, any) error { return nil },
			func(_ context.Context, resp *http.Response) (any, error) {
				if resp.StatusCode != http.StatusOK {
					return nil, errors.New(resp.Status)
				}
				return io.ReadAll(resp.Body)
			},
			httptransport.ClientBefore(func(ctx context.Context, r *http.Request) context.Context {
				prop.Inject(ctx, propagation.HeaderCarrier(r.Header))
				return ctx
			}),
		).Endpoint()
	}, s1.Listener.Addr().String(), s2.Listener.Addr().String())
	r, _ := retry.New(b, retry.WithTracer(tracer))
	defer r.Close()
	if _, err := r.Endpoint()(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if !failed.Load() {
		t.Fatal("the failing server was never called")
	}
	call, attempts := split(t, rec.Ended())
	if len(attempts) != 2 {
		t.Fatalf("%d attempts", len(attempts))
	}
	for _, a := range attempts {
		host := mustAttr(t, a, otelretry.HostKey).AsString()
		sc := got[host]
		if sc.TraceID() != call.SpanContext().TraceID() || sc.SpanID() != a.SpanContext().SpanID() {
			t.Errorf("server %s saw trace %v span %v; want trace %v span %v", host, sc.TraceID(), sc.SpanID(), call.SpanContext().TraceID(), a.SpanContext().SpanID())
		}
	}
}

func TestNewRefusesBadArguments(t *testing.T) {
	if _, err := otelretry.New(nil); !errors.Is(err, otelretry.ErrInvalidArgument) {
		t.Errorf("nil provider: %v", err)
	}
	var tp *sdktrace.TracerProvider
	if _, err := otelretry.New(tp); !errors.Is(err, otelretry.ErrInvalidArgument) {
		t.Errorf("typed nil provider: %v", err)
	}
	tp2, _ := recorder(t)
	for name, o := range map[string]otelretry.Option{
		"nil option":     nil,
		"empty names":    otelretry.WithSpanNames("", "x"),
		"empty attempt":  otelretry.WithSpanNames("x", ""),
		"empty balancer": otelretry.WithBalancerName(""),
	} {
		if _, err := otelretry.New(tp2, o); !errors.Is(err, otelretry.ErrInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := retry.New(fixedBalancer{}, retry.WithTracer(nil)); !errors.Is(err, retry.ErrInvalidArgument) {
		t.Errorf("retry.WithTracer(nil): %v", err)
	}
}

type fixedBalancer struct{}

func (fixedBalancer) Endpoint() (endpoint.Endpoint, error) {
	return func(context.Context, any) (any, error) { return nil, nil }, nil
}
