package lbmetrics_test

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/seed41aebe0c/lbkit/lbmetrics"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/strategy"
	"github.com/seed41aebe0c/lbkit/subset"
)

// The duration histograms expose exact counts: every bucket holds exactly
// the durations below its bound, whether they came one Observe at a time
// or in bulk from a host's latency record (strategy.LatencySink), and the
// sum is the sum of the durations.
func TestHistogramBucketsAreExact(t *testing.T) {
	reg := prometheus.NewRegistry()
	pm, err := lbmetrics.NewPrometheus(reg, "t")
	if err != nil {
		t.Fatal(err)
	}
	set := pm.Service("svc")
	var durations []time.Duration
	for d := 700 * time.Nanosecond; d < 20*time.Second; d = d*13/10 + 1 {
		durations = append(durations, d)
	}
	durations = append(durations, time.Hour, 0)

	// Observe, in seconds as go-kit's Histogram takes them; a negative or
	// NaN observation counts as 0.
	retryDur := set.Retry.RequestDuration
	for _, d := range durations {
		retryDur.Observe(d.Seconds())
	}
	retryDur.Observe(math.NaN())
	retryDur.Observe(-1)
	// In bulk, as a balancer feeds its per-host series.
	sink, ok := set.Balancer.RequestDuration.With("host", "10.0.0.1:80").(strategy.LatencySink)
	if !ok {
		t.Fatal("the per-host request duration histogram is not a strategy.LatencySink")
	}
	var c strategy.LatencyCounter
	for _, d := range durations {
		c.Record(d)
	}
	h, sum := c.Snapshot()
	sink.AddLatencies(&h, sum)
	sink.AddLatencies(&strategy.LatencyHistogram{}, 0) // nothing new

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, extraZeros int) {
		t.Helper()
		var m *dto.Metric
		for _, mf := range mfs {
			if mf.GetName() == name && len(mf.GetMetric()) > 0 {
				m = mf.GetMetric()[0]
			}
		}
		if m == nil {
			t.Fatalf("no %s", name)
		}
		got := m.GetHistogram()
		if n := uint64(len(durations) + extraZeros); got.GetSampleCount() != n {
			t.Errorf("%s count %d, want %d", name, got.GetSampleCount(), n)
		}
		var want time.Duration
		for _, d := range durations {
			want += d
		}
		if s := got.GetSampleSum(); math.Abs(s-want.Seconds()) > 1e-9*want.Seconds() {
			t.Errorf("%s sum %v, want %v", name, s, want.Seconds())
		}
		bounds := lbmetrics.LatencyBuckets()
		if len(got.GetBucket()) != len(bounds) {
			t.Fatalf("%s has %d buckets, want %d", name, len(got.GetBucket()), len(bounds))
		}
		for j, b := range got.GetBucket() {
			if b.GetUpperBound() != bounds[j] {
				t.Errorf("%s bucket %d bound %v, want %v", name, j, b.GetUpperBound(), bounds[j])
			}
			n := uint64(extraZeros)
			for _, d := range durations {
				if d.Seconds() <= b.GetUpperBound() {
					n++
				}
			}
			if b.GetCumulativeCount() != n {
				t.Errorf("%s le=%v: %d, want %d", name, b.GetUpperBound(), b.GetCumulativeCount(), n)
			}
		}
	}
	check("t_retry_request_duration_seconds", 2)
	check("t_balancer_host_request_duration_seconds", 0)
}

// The bounds are powers of two of nanoseconds, one per doubling, from
// about 33 µs to about 8.6 s.
func TestLatencyBuckets(t *testing.T) {
	b := lbmetrics.LatencyBuckets()
	if len(b) != 19 || b[0] != 32768e-9 || b[len(b)-1] != float64(1<<33)*1e-9 {
		t.Fatalf("LatencyBuckets %v", b)
	}
	for i := 1; i < len(b); i++ {
		if b[i] != 2*b[i-1] {
			t.Fatalf("bound %d is %v, not twice %v", i, b[i], b[i-1])
		}
	}
	b[0] = 1 // a copy: changing it changes nothing
	if lbmetrics.LatencyBuckets()[0] != 32768e-9 {
		t.Fatal("LatencyBuckets returned its own slice")
	}
}

// A subsetting publisher's metrics reach Prometheus under the service's
// label: its coordinate, the backends offered and used, and the changes,
// at zero from the start.
func TestSubsetMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	pm, err := lbmetrics.NewPrometheus(reg, "t")
	if err != nil {
		t.Fatal(err)
	}
	back, err := static.NewAddresses("10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80", "10.0.0.5:80")
	if err != nil {
		t.Fatal(err)
	}
	defer back.Stop()
	sub, err := subset.New(back, 2, subset.Fixed(3, 4))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	if err := sub.SetMetrics(pm.Service("users").Subset); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == "users" {
				got[mf.GetName()] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
	}
	for name, want := range map[string]float64{"t_subset_rank": 3, "t_subset_clients": 4, "t_subset_backends": 5,
		"t_subset_backends_used": 2, "t_subset_changes_total": 0} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s{service=users} = %v (present %v), want %v", name, v, ok, want)
		}
	}
}
