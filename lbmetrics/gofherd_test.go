package lbmetrics_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/herd"
	"github.com/seed41aebe0c/lbkit/lbmetrics"
)

// TestGofherdNames: a gofherd user's dashboards keep working.
func TestPrometheusMetricsHaveGofherdNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := lbmetrics.NewGofherd(reg, "gofherd", nil)
	if err != nil {
		t.Fatal(err)
	}
	fn := func(_ context.Context, w *herd.Work[int, int]) herd.Status {
		switch {
		case w.Body < 5:
			return herd.Success
		case w.Body < 8 && w.Attempts() == 1:
			return herd.Retry
		case w.Body < 8:
			return herd.Success
		}
		return herd.Failure
	}
	h, err := herd.New(fn, herd.WithSize(3), herd.WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	go func() {
		for i := range 10 {
			if err := h.Send(context.Background(), herd.Work[int, int]{ID: fmt.Sprint(i), Body: i}); err != nil {
				t.Errorf("Send %d: %v", i, err)
				return
			}
		}
		h.CloseInput()
	}()
	deadline := time.After(20 * time.Second)
	for done := false; !done; {
		select {
		case _, ok := <-h.Output():
			done = !ok
		case <-deadline:
			t.Fatal("herd output not closed")
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mm := range mf.GetMetric() {
			switch {
			case mm.GetCounter() != nil:
				got[mf.GetName()] = mm.GetCounter().GetValue()
			case mm.GetGauge() != nil:
				got[mf.GetName()] = mm.GetGauge().GetValue()
			}
		}
	}
	want := map[string]float64{
		"gofherd_success_total": 8, "gofherd_retry_total": 3, "gofherd_failure_total": 2,
		"gofherd_size": 3, "gofherd_busy": 0,
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v; all: %v", name, g, ok, v, got)
		}
	}

	if _, err := lbmetrics.NewGofherd(reg, "gofherd", nil); !errors.Is(err, lbmetrics.ErrAlreadyRegistered) {
		t.Errorf("second registration = %v, want an already-registered error", err)
	}
	if _, err := lbmetrics.NewGofherd(nil, "x", nil); !errors.Is(err, lbmetrics.ErrInvalidArgument) {
		t.Errorf("nil registerer: %v", err)
	}
}
