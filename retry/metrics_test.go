package retry_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/metrics/statsd"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/retry"
)

func counters(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf.GetMetric()[0].GetCounter().GetValue()
	}
	return out
}

func TestPrometheusMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := retry.NewPrometheusMetrics(reg, "app", "users")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := retry.NewPrometheusMetrics(reg, "app", "users"); err == nil {
		t.Fatal("duplicate registration accepted")
	}
	// Every call fails once, then succeeds: one retry per call.
	calls := 0
	ep := func(context.Context, any) (any, error) {
		calls++
		if calls%2 == 1 {
			return nil, errors.New("first attempt fails")
		}
		return "ok", nil
	}
	r, err := retry.New(fixed(endpoint.Endpoint(ep)), retry.WithoutBackoff(), retry.WithoutBudget(), retry.WithMetrics(m, 0))
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := r.Endpoint()(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	r.Close() // reports the last counts
	r.Close()
	got := counters(t, reg)
	for name, want := range map[string]float64{
		"app_users_retry_calls_total":            10,
		"app_users_retry_attempts_total":         20,
		"app_users_retry_retries_total":          10,
		"app_users_retry_budget_exhausted_total": 0,
		"app_users_retry_hedges_total":           0,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v (all: %v)", name, got[name], want, got)
		}
	}
}

func TestStatsdMetrics(t *testing.T) {
	if _, err := retry.NewStatsdMetrics(nil, ""); err == nil {
		t.Fatal("nil sender accepted")
	}
	s := statsd.New("svc.", log.NewNopLogger())
	m, err := retry.NewStatsdMetrics(s, "users.")
	if err != nil {
		t.Fatal(err)
	}
	ok := func(context.Context, any) (any, error) { return "ok", nil }
	r, err := retry.New(fixed(ok), retry.WithMetrics(m, 0))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		r.Endpoint()(context.Background(), nil)
	}
	r.Close()
	var buf bytes.Buffer
	s.WriteTo(&buf)
	if !strings.Contains(buf.String(), "svc.users.retry.calls:3.000000|c") {
		t.Fatalf("statsd output:\n%s", buf.String())
	}
}

func TestWithMetricsRejectsBadInput(t *testing.T) {
	ok := func(context.Context, any) (any, error) { return "ok", nil }
	if _, err := retry.New(fixed(ok), retry.WithMetrics(nil, 0)); !errors.Is(err, retry.ErrInvalidArgument) {
		t.Fatalf("nil metrics: %v", err)
	}
	if _, err := retry.New(fixed(ok), retry.WithMetrics(&retry.Metrics{}, -1)); !errors.Is(err, retry.ErrInvalidArgument) {
		t.Fatalf("negative interval: %v", err)
	}
}
