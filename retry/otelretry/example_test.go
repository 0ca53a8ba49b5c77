package otelretry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/go-kit/kit/endpoint"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/retry/otelretry"
	"github.com/seed41aebe0c/lbkit/strategy"
)

func Example() {
	// Any OpenTelemetry tracer provider; here one that keeps spans in memory.
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())

	p, _ := static.NewAddresses("127.0.0.1:8080", "127.0.0.1:8081")
	defer p.Stop()
	// The first call anywhere fails; the retry goes to the other host.
	var calls atomic.Int32
	factory := func(instance string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) {
			if calls.Add(1) == 1 {
				return nil, errors.New("unavailable")
			}
			return "ok", nil
		}, nil, nil
	}
	b, _ := loadbalancer.New(p, factory, loadbalancer.WithStrategy(strategy.RoundRobin{}))
	defer b.Close()

	tracer, _ := otelretry.New(tp, otelretry.WithBalancerName("greeter"))
	r, _ := retry.New(b, retry.WithTracer(tracer), retry.WithoutBackoff())
	defer r.Close()

	resp, err := r.Endpoint()(context.Background(), nil)
	fmt.Println(resp, err)
	hosts := map[string]bool{}
	for _, s := range rec.Ended() {
		line := s.Name()
		for _, kv := range s.Attributes() {
			switch kv.Key {
			case otelretry.NextKey, otelretry.AttemptsKey, otelretry.BudgetKey:
				line += fmt.Sprintf(" %s=%s", kv.Key, kv.Value.Emit())
			case otelretry.HostKey:
				hosts[kv.Value.AsString()] = true
			}
		}
		fmt.Println(line)
	}
	fmt.Println("hosts tried:", len(hosts))
	// Output:
	// ok <nil>
	// retry.attempt lbkit.retry.next=retry lbkit.retry.budget=granted
	// retry.attempt lbkit.retry.next=done
	// retry.call lbkit.retry.attempts=2
	// hosts tried: 2
}
