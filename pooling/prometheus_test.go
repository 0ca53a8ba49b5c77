package pooling_test

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/pooling"
)

// gather returns every sample value of reg by metric name (the sample count
// for histograms).
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				out[mf.GetName()] += m.Counter.GetValue()
			case m.Gauge != nil:
				out[mf.GetName()] += m.Gauge.GetValue()
			case m.Histogram != nil:
				out[mf.GetName()] += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

func TestPrometheusMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := pooling.NewPrometheusMetrics(reg, "app", prometheus.Labels{"service": "echo"})
	if err != nil {
		t.Fatal(err)
	}
	a := startEcho(t)
	s := newService(t, []string{a.addr}, pooling.WithMetrics(m), pooling.WithPrespawn(0))
	for range 3 {
		if _, err := use(s); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	got := gather(t, reg)
	want := map[string]float64{
		"app_pooling_hosts_score_percent":         100,
		"app_pooling_hosts":                       0,
		"app_pooling_conns_open":                  0,
		"app_pooling_conns_fails_total":           0,
		"app_pooling_conns_put_total":             3,
		"app_pooling_conns_get_total":             3,
		"app_pooling_conns_get_delay_seconds":     3,
		"app_pooling_conns_get_fails_total":       0,
		"app_pooling_conns_active_period_seconds": 3,
	}
	if len(got) != len(want) {
		t.Errorf("gathered %v, want pooly's nine metrics %v", got, want)
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", name, g, ok, v)
		}
	}

	// The same names and labels twice is an error, and registers nothing.
	if _, err := pooling.NewPrometheusMetrics(reg, "app", prometheus.Labels{"service": "echo"}); err == nil {
		t.Error("registering twice succeeded")
	}
	if _, err := pooling.NewPrometheusMetrics(reg, "app", prometheus.Labels{"service": "other"}); err != nil {
		t.Errorf("a second service with its own label: %v", err)
	}
	if _, err := pooling.NewPrometheusMetrics(nil, "app", nil); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("nil registerer: %v", err)
	}
	if _, err := pooling.NewPrometheusMetrics((*prometheus.Registry)(nil), "app", nil); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("typed nil registerer: %v", err)
	}
}
