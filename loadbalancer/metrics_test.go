package loadbalancer_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/metrics"
	"github.com/go-kit/kit/metrics/generic"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/seed41aebe0c/lbkit/lbmetrics"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/strategy"
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

// countHistogram is a go-kit histogram that counts its observations.
type countHistogram struct {
	mu       sync.Mutex
	observed int
}

func (h *countHistogram) With(...string) metrics.Histogram { return h }

func (h *countHistogram) Observe(float64) {
	h.mu.Lock()
	h.observed++
	h.mu.Unlock()
}

func (h *countHistogram) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.observed
}

// sinkHistogram is also a strategy.LatencySink, as lbmetrics' Prometheus
// histograms are.
type sinkHistogram struct {
	countHistogram
	added uint64
	sum   time.Duration
}

func (h *sinkHistogram) With(...string) metrics.Histogram { return h }

func (h *sinkHistogram) AddLatencies(l *strategy.LatencyHistogram, sum time.Duration) {
	h.mu.Lock()
	h.added += l.Count()
	h.sum += sum
	h.mu.Unlock()
}

// A RequestDuration histogram that is a strategy.LatencySink costs the
// request path nothing: it is never observed per call, and gets every
// call's latency from the hosts' own records on the balancer's report (and
// on Close). Any other histogram is observed once per call, at once.
func TestRequestDurationFromHostsOrPerCall(t *testing.T) {
	const calls = 40
	run := func(h metrics.Histogram) *loadbalancer.Balancer {
		b, err := loadbalancer.New(mustStatic(t, "a", "b"), newBackends().factory, roundRobin,
			loadbalancer.WithMetrics(&loadbalancer.Metrics{RequestDuration: h}))
		if err != nil {
			t.Fatal(err)
		}
		for range calls {
			e, err := b.Endpoint()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}

	plain := &countHistogram{}
	b := run(plain)
	if n := plain.count(); n != calls {
		t.Errorf("plain histogram: %d observations right after %d calls", n, calls)
	}
	b.Close()

	sink := &sinkHistogram{}
	b = run(sink)
	var want time.Duration
	for _, hs := range b.Status().Hosts {
		want += hs.LatencySum
	}
	b.Close()
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.observed != 0 || sink.added != calls || sink.sum != want || want <= 0 {
		t.Errorf("sink: %d observed, %d added with sum %v; want 0, %d, %v", sink.observed, sink.added, sink.sum, calls, want)
	}
}
