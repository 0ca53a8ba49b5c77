package retry_test

import (
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/lbmetrics"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// lbkitNewMetricsChain is "lbkit-new" with every balancer and retry metric
// on Prometheus through lbmetrics: the per-call cost of metrics is the
// difference between the two.
func lbkitNewMetricsChain(b *testing.B, f sd.Factory) chain {
	pm, err := lbmetrics.NewPrometheus(prometheus.NewRegistry(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	set := pm.Service("bench")
	pub, err := static.NewAddresses(benchAddresses()...)
	if err != nil {
		b.Fatal(err)
	}
	bal, err := loadbalancer.New(pub, f, loadbalancer.WithStrategy(strategy.RoundRobin{}), loadbalancer.WithMetrics(set.Balancer))
	if err != nil {
		b.Fatal(err)
	}
	budget, err := retry.NewBudget(100, 0, retry.DefaultBudgetWindow)
	if err != nil {
		b.Fatal(err)
	}
	r, err := retry.New(bal, retry.WithMaxAttempts(10), retry.WithTimeout(time.Second),
		retry.WithoutBackoff(), retry.WithBudget(budget), retry.WithMetrics(set.Retry))
	if err != nil {
		b.Fatal(err)
	}
	return chain{ep: r.Endpoint(), close: func() { r.Close(); bal.Close() }}
}
