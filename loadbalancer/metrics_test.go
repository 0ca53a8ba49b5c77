package loadbalancer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/metrics/statsd"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

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
			out[key] = value(mf.GetType(), m)
		}
	}
	return out
}

func value(t dto.MetricType, m *dto.Metric) float64 {
	if t == dto.MetricType_COUNTER {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

func TestPrometheusMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := loadbalancer.NewPrometheusMetrics(reg, "lbkit", "users")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loadbalancer.NewPrometheusMetrics(reg, "lbkit", "users"); err == nil {
		t.Fatal("duplicate registration not reported")
	}
	p := mustStatic(t, "good", "bad", "broken")
	be := newBackends()
	be.failing["bad"] = errors.New("boom")
	factory := func(addr string) (endpoint.Endpoint, io.Closer, error) {
		if addr == "broken" {
			return nil, nil, errors.New("cannot dial")
		}
		return be.factory(addr)
	}
	b, err := loadbalancer.New(p, factory, roundRobin, loadbalancer.WithMetrics(m, 0))
	if err != nil {
		t.Fatal(err)
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
	got := gather(t, reg)
	for key, want := range map[string]float64{
		"lbkit_users_picks_total{host=good}":    5,
		"lbkit_users_picks_total{host=bad}":     5,
		"lbkit_users_failures_total{host=bad}":  5,
		"lbkit_users_failures_total{host=good}": 0,
		"lbkit_users_hosts":                     0,
		"lbkit_users_no_endpoints_total":        3,
		"lbkit_users_factory_errors_total":      1,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v (all: %v)", key, got[key], want, got)
		}
	}
}

func TestPrometheusMetricsWhileRunning(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, _ := loadbalancer.NewPrometheusMetrics(reg, "", "lb")
	p := mustStatic(t, "a")
	b, _ := loadbalancer.New(p, newBackends().factory, random, loadbalancer.WithMetrics(m, 5*time.Millisecond))
	defer b.Close()
	e, _ := b.Endpoint()
	e(context.Background(), nil)
	eventually(t, "a periodic report", func() bool {
		g := gather(t, reg)
		return g["lb_picks_total{host=a}"] == 1 && g["lb_hosts"] == 1 && g["lb_score{host=a}"] == 1
	})
}

func TestStatsdMetrics(t *testing.T) {
	if _, err := loadbalancer.NewStatsdMetrics(nil, ""); err == nil {
		t.Fatal("nil sender accepted")
	}
	s := statsd.New("svc.", log.NewNopLogger())
	m, err := loadbalancer.NewStatsdMetrics(s, "lb.")
	if err != nil {
		t.Fatal(err)
	}
	p := mustStatic(t, "a")
	b, _ := loadbalancer.New(p, newBackends().factory, random, loadbalancer.WithMetrics(m, 0))
	for range 4 {
		e, _ := b.Endpoint()
		e(context.Background(), nil)
	}
	b.Close()
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"svc.lb.picks:4.000000|c", "svc.lb.hosts:1.000000|g"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("statsd output lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestWithMetricsRejectsBadInput(t *testing.T) {
	p := mustStatic(t, "a")
	if _, err := loadbalancer.New(p, newBackends().factory, random, loadbalancer.WithMetrics(nil, 0)); err == nil {
		t.Fatal("nil metrics accepted")
	}
	if _, err := loadbalancer.New(p, newBackends().factory, random, loadbalancer.WithMetrics(&loadbalancer.Metrics{}, -1)); err == nil {
		t.Fatal("negative interval accepted")
	}
	// All-nil metrics are allowed: every field is discarded.
	b, err := loadbalancer.New(p, newBackends().factory, random, loadbalancer.WithMetrics(&loadbalancer.Metrics{}, 0))
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
}
