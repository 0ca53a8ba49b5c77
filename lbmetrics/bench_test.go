package lbmetrics_test

import (
	"testing"

	kitprometheus "github.com/go-kit/kit/metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/lbmetrics"
)

// BenchmarkObserve is one Observe into a histogram bound to its service
// and host: what the Retrier adds per call (the balancer's per-host
// histogram is fed from the hosts' records instead). "impl=client_golang"
// is a Prometheus client HistogramVec's series bound once (what lbmetrics
// used before its histograms became strategy.LatencyCounters);
// "impl=gokit" is go-kit's metrics/prometheus adapter over such a vec,
// which builds a label map on every call.
//
//	go test -run '^$' -bench Observe -benchmem -count 5 -benchtime 300ms ./lbmetrics > observe.txt
//	benchstat -col /impl observe.txt
func BenchmarkObserve(b *testing.B) {
	b.Run("impl=lbmetrics", func(b *testing.B) {
		pm, err := lbmetrics.NewPrometheus(prometheus.NewRegistry(), "bench")
		if err != nil {
			b.Fatal(err)
		}
		h := pm.Service("users").Balancer.RequestDuration.With("host", "10.0.0.1:80")
		b.ReportAllocs()
		for range b.N {
			h.Observe(0.003)
		}
	})
	b.Run("impl=client_golang", func(b *testing.B) {
		hv := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bench", Help: "bench", Buckets: lbmetrics.LatencyBuckets()}, []string{"service", "host"})
		h := hv.WithLabelValues("users", "10.0.0.1:80")
		b.ReportAllocs()
		for range b.N {
			h.Observe(0.003)
		}
	})
	b.Run("impl=gokit", func(b *testing.B) {
		hv := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bench", Help: "bench", Buckets: lbmetrics.LatencyBuckets()}, []string{"service", "host"})
		h := kitprometheus.NewHistogram(hv).With("service", "users", "host", "10.0.0.1:80")
		b.ReportAllocs()
		for range b.N {
			h.Observe(0.003)
		}
	})
}
