package lbmetrics_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/lbmetrics"
)

func TestNewPrometheusTwiceIsOneClearError(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := lbmetrics.NewPrometheus(reg, "app"); err != nil {
		t.Fatal(err)
	}
	_, err := lbmetrics.NewPrometheus(reg, "app")
	if !errors.Is(err, lbmetrics.ErrAlreadyRegistered) {
		t.Fatalf("second NewPrometheus: %v, want ErrAlreadyRegistered", err)
	}
	msg := err.Error()
	if n := strings.Count(msg, "registered"); n > 2 {
		t.Errorf("error repeats itself (%d times 'registered'): %s", n, msg)
	}
	if !strings.Contains(msg, "app_balancer_hosts ") {
		t.Errorf("error does not name the clashing metric: %s", msg)
	}
	// Another namespace on the same registerer is fine.
	if _, err := lbmetrics.NewPrometheus(reg, "other"); err != nil {
		t.Fatal(err)
	}
}

func TestNewPrometheusLeavesNothingOnError(t *testing.T) {
	reg := prometheus.NewRegistry()
	// A metric of the user's that clashes with one registered late.
	// (Same label names and help: client_golang never forgets those of
	// an unregistered metric.)
	mine := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "app_herd_busy_workers", Help: "Workers processing an item."}, []string{"service"})
	reg.MustRegister(mine)
	if _, err := lbmetrics.NewPrometheus(reg, "app"); !errors.Is(err, lbmetrics.ErrAlreadyRegistered) {
		t.Fatalf("clash: %v", err)
	}
	// Everything registered before the clash was taken back: a new
	// attempt clashes at the same metric again, not at the first.
	_, err := lbmetrics.NewPrometheus(reg, "app")
	if err == nil || !strings.Contains(err.Error(), "app_herd_busy_workers") {
		t.Fatalf("second attempt: %v, want the clash at app_herd_busy_workers", err)
	}
	reg.Unregister(mine)
	if _, err := lbmetrics.NewPrometheus(reg, "app"); err != nil {
		t.Fatalf("after removing the clash: %v", err)
	}
}

func TestNewPrometheusRejectsBadInput(t *testing.T) {
	if _, err := lbmetrics.NewPrometheus(nil, "app"); !errors.Is(err, lbmetrics.ErrInvalidArgument) {
		t.Fatalf("nil: %v", err)
	}
	if _, err := lbmetrics.NewPrometheus((*prometheus.Registry)(nil), "app"); !errors.Is(err, lbmetrics.ErrInvalidArgument) {
		t.Fatalf("typed nil: %v", err)
	}
	reg := prometheus.NewRegistry()
	for _, ns := range []string{"my-app", "1app", "app.x"} {
		if _, err := lbmetrics.NewPrometheus(reg, ns); !errors.Is(err, lbmetrics.ErrInvalidArgument) {
			t.Errorf("namespace %q: %v", ns, err)
		}
	}
	if _, err := lbmetrics.NewPrometheus(reg, ""); err != nil {
		t.Errorf("empty namespace: %v", err)
	}
}

// Service called twice with one name records into the same series, and
// label values given by the packages (the host) are honoured.
func TestServiceSameSeriesAndHostLabel(t *testing.T) {
	reg := prometheus.NewRegistry()
	pm, err := lbmetrics.NewPrometheus(reg, "app")
	if err != nil {
		t.Fatal(err)
	}
	pm.Service("users").Balancer.Requests.With("host", "10.0.0.1:80").Add(2)
	pm.Service("users").Balancer.Requests.With("host", "10.0.0.1:80").Add(3)
	pm.Service("users").Balancer.Requests.With("host", "10.0.0.2:80").Add(1)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "app_balancer_host_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			got[labels(m)["service"]+"/"+labels(m)["host"]] = m.GetCounter().GetValue()
		}
	}
	if len(got) != 2 || got["users/10.0.0.1:80"] != 5 || got["users/10.0.0.2:80"] != 1 {
		t.Fatalf("series %v, want users/10.0.0.1:80=5 and users/10.0.0.2:80=1", got)
	}
}

// Recording into bound Prometheus metrics allocates nothing.
func TestRecordingAllocatesNothing(t *testing.T) {
	pm, err := lbmetrics.NewPrometheus(prometheus.NewRegistry(), "app")
	if err != nil {
		t.Fatal(err)
	}
	set := pm.Service("users")
	h := set.Balancer.RequestDuration.With("host", "10.0.0.1:80")
	c := set.Retry.Retries
	if n := testing.AllocsPerRun(100, func() { h.Observe(0.01); c.Add(1); set.Retry.RequestDuration.Observe(0.02) }); n != 0 {
		t.Fatalf("%v allocations per record, want 0", n)
	}
}
