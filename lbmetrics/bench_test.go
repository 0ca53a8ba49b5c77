package lbmetrics_test

import (
	"testing"

	kitprometheus "github.com/go-kit/kit/metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/lbmetrics"
)

// BenchmarkObserve is what metrics add per call and per attempt: one
// Observe into a histogram bound to its service and host. "impl=gokit" is
// go-kit's metrics/prometheus adapter over the same HistogramVec, which
// builds a label map on every call.
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
	b.Run("impl=gokit", func(b *testing.B) {
		hv := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bench", Help: "bench", Buckets: lbmetrics.LatencyBuckets()}, []string{"service", "host"})
		h := kitprometheus.NewHistogram(hv).With("service", "users", "host", "10.0.0.1:80")
		b.ReportAllocs()
		for range b.N {
			h.Observe(0.003)
		}
	})
}
