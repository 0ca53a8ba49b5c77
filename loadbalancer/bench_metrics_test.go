package loadbalancer_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/lbmetrics"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
)

// withBenchMetrics is every balancer metric, on Prometheus through
// lbmetrics: the "impl=lbkit-metrics" variants, to compare with "lbkit".
func withBenchMetrics(b *testing.B) loadbalancer.Option {
	pm, err := lbmetrics.NewPrometheus(prometheus.NewRegistry(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	return loadbalancer.WithMetrics(pm.Service("bench").Balancer)
}

// BenchmarkEndpointCall is the balancer's whole share of a request: the
// pick and a call through the host's recording endpoint (the statistics'
// Begin and Record, and with metrics one Observe of its duration). Compare
// with and without metrics:
//
//	go test -run '^$' -bench EndpointCall -benchmem -count 5 -benchtime 300ms ./loadbalancer > call.txt
//	benchstat -col /impl call.txt
func BenchmarkEndpointCall(b *testing.B) {
	for _, lib := range []string{"lbkit", "lbkit-metrics"} {
		b.Run(fmt.Sprintf("hosts=10/impl=%s", lib), func(b *testing.B) {
			bal := build(b, lib, "roundrobin", 10)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				e, err := bal.Endpoint()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e(ctx, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
