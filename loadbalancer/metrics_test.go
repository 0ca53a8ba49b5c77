package loadbalancer_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/metrics/generic"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/seed41aebe0c/lbkit/lbmetrics"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
)

func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			if mf.GetType() == dto.MetricType_HISTOGRAM {
				key = strings.Replace(key, mf.GetName(), mf.GetName()+"_count", 1)
			}
			out[key] = value(mf.GetType(), m)
		}
	}
	return out
}

func value(t dto.MetricType, m *dto.Metric) float64 {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_HISTOGRAM:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return m.GetGauge().GetValue()
}

func TestPrometheusMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	pm, err := lbmetrics.NewPrometheus(reg, "lbkit")
	if err != nil {
		t.Fatal(err)
	}
	m := pm.Service("users").Balancer
	p := mustStatic(t, "good", "bad", "broken")
	be := newBackends()
	be.failing["bad"] = errors.New("boom")
	factory := func(addr string) (endpoint.Endpoint, io.Closer, error) {
		if addr == "broken" {
			return nil, nil, errors.New("cannot dial")
		}
		return be.factory(addr)
	}
	b, err := loadbalancer.New(p, factory, roundRobin, loadbalancer.WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	// The series an alert would watch exist before anything happened.
	got := gather(t, reg)
	for _, key := range []string{"lbkit_balancer_no_endpoints_total{service=users}", "lbkit_balancer_factory_errors_total{service=users}"} {
		if _, ok := got[key]; !ok {
			t.Errorf("no series %s at start (all: %v)", key, got)
		}
	}
	for range 10 {
		e, _ := b.Endpoint()
		e(context.Background(), nil)
	}
	p.Replace()
	eventually(t, "the empty set", func() bool { return len(b.Status().Hosts) == 0 })
	for range 3 {
		if _, err := b.Endpoint(); err == nil {
			t.Fatal("endpoint from an empty set")
		}
	}
	b.Close() // reports one last time
	got = gather(t, reg)
	for key, want := range map[string]float64{
		"lbkit_balancer_host_requests_total{host=good}{service=users}":                 5,
		"lbkit_balancer_host_requests_total{host=bad}{service=users}":                  5,
		"lbkit_balancer_host_failures_total{host=bad}{service=users}":                  5,
		"lbkit_balancer_host_failures_total{host=good}{service=users}":                 0,
		"lbkit_balancer_host_request_duration_seconds_count{host=good}{service=users}": 5,
		"lbkit_balancer_hosts{service=users}":                                          0,
		"lbkit_balancer_no_endpoints_total{service=users}":                             3,
		"lbkit_balancer_factory_errors_total{service=users}":                           1,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v, want %v (all: %v)", key, v, want, got)
		}
	}
	// No series for a host that never existed, nor an empty host label.
	for key := range got {
		if strings.Contains(key, "{host=}") || strings.Contains(key, "host=broken") {
			t.Errorf("unexpected series %s", key)
		}
	}
}

func TestWithMetricsRejectsBadInput(t *testing.T) {
	p := mustStatic(t, "a")
	if _, err := loadbalancer.New(p, newBackends().factory, random, loadbalancer.WithMetrics(nil)); !errors.Is(err, loadbalancer.ErrInvalidArgument) {
		t.Fatalf("nil metrics: %v", err)
	}
	if _, err := loadbalancer.New(p, newBackends().factory, random, loadbalancer.WithMetrics(&loadbalancer.Metrics{Hosts: (*generic.Gauge)(nil)})); !errors.Is(err, loadbalancer.ErrInvalidArgument) {
		t.Fatalf("typed nil gauge: %v", err)
	}
	// All-nil metrics are allowed: nothing is recorded.
	b, err := loadbalancer.New(p, newBackends().factory, random, loadbalancer.WithMetrics(&loadbalancer.Metrics{}))
	if err != nil {
		t.Fatal(err)
	}
	e, _ := b.Endpoint()
	e(context.Background(), nil)
	b.Close()
}
