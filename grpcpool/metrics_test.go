package grpcpool_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-kit/kit/metrics/generic"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/seed41aebe0c/lbkit/grpcpool"
)

func TestMetrics(t *testing.T) {
	srv := startServer(t, "127.0.0.1:0")
	m := &grpcpool.Metrics{
		Connections:      generic.NewGauge("conns"),
		ReadyConnections: generic.NewGauge("ready"),
		InFlight:         generic.NewGauge("inflight"),
		ScaleOuts:        generic.NewCounter("scaleouts"),
	}
	p := newPool(t, srv.addr, grpcpool.WithMetrics(m),
		grpcpool.WithScaleOut(grpcpool.ScaleConfig{Period: 10 * time.Millisecond, DesiredMaxStreams: 4, MaxConns: 2 * grpcpool.DefaultSize}))
	// Reported at once, before any tick.
	if got := m.Connections.(*generic.Gauge).Value(); got != float64(grpcpool.DefaultSize) {
		t.Fatalf("connections %v at start, want %d", got, grpcpool.DefaultSize)
	}
	client := healthpb.NewHealthClient(p)
	if err := check(context.Background(), client); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ready connections reported", func() bool {
		return m.ReadyConnections.(*generic.Gauge).Value() >= 1
	})
	// Open streams past the desired load: the pool grows, and says so.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 4 * grpcpool.DefaultSize * 3 {
		if _, err := client.Watch(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a scale-out counted", func() bool { return m.ScaleOuts.(*generic.Counter).Value() >= 1 })
	waitFor(t, "streams and the larger pool reported", func() bool {
		return m.InFlight.(*generic.Gauge).Value() > 0 && m.Connections.(*generic.Gauge).Value() > float64(grpcpool.DefaultSize)
	})
}

func TestWithMetricsRejectsBadInput(t *testing.T) {
	if _, err := grpcpool.New("127.0.0.1:1", grpcpool.WithMetrics(nil)); !errors.Is(err, grpcpool.ErrInvalidArgument) {
		t.Fatalf("nil metrics: %v", err)
	}
	if _, err := grpcpool.New("127.0.0.1:1", grpcpool.WithMetrics(&grpcpool.Metrics{InFlight: (*generic.Gauge)(nil)})); !errors.Is(err, grpcpool.ErrInvalidArgument) {
		t.Fatalf("typed nil gauge: %v", err)
	}
}
