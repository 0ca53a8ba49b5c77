package retry_test

import (
	"io"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
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
	return metricsChain(b, f, true, retrierAll)
}

// What of the Retrier's metrics a chain records.
const (
	retrierNone     = iota
	retrierCounters // every metric but the call-duration histogram
	retrierAll
)

// metricsChain is "lbkit-new" with the balancer's metrics, the Retrier's,
// both or neither on Prometheus through lbmetrics (the registry is made in
// every case, so that its heap is in every variant).
func metricsChain(b *testing.B, f sd.Factory, balancer bool, retrier int) chain {
	pm, err := lbmetrics.NewPrometheus(prometheus.NewRegistry(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	set := pm.Service("bench")
	pub, err := static.NewAddresses(benchAddresses()...)
	if err != nil {
		b.Fatal(err)
	}
	opts := []loadbalancer.Option{loadbalancer.WithStrategy(strategy.RoundRobin{})}
	if balancer {
		opts = append(opts, loadbalancer.WithMetrics(set.Balancer))
	}
	bal, err := loadbalancer.New(pub, f, opts...)
	if err != nil {
		b.Fatal(err)
	}
	budget, err := retry.NewBudget(100, 0, retry.DefaultBudgetWindow)
	if err != nil {
		b.Fatal(err)
	}
	ropts := []retry.Option{retry.WithMaxAttempts(10), retry.WithTimeout(time.Second), retry.WithoutBackoff(), retry.WithBudget(budget)}
	if retrier != retrierNone {
		m := *set.Retry
		if retrier == retrierCounters {
			m.RequestDuration = nil
		}
		ropts = append(ropts, retry.WithMetrics(&m))
	}
	r, err := retry.New(bal, ropts...)
	if err != nil {
		b.Fatal(err)
	}
	return chain{ep: r.Endpoint(), close: func() { r.Close(); bal.Close() }}
}

// BenchmarkRetrySuccessMetrics splits the cost of metrics on the success
// path between the balancer's (fed from the hosts' records: nothing per
// call) and the Retrier's: its counters (nothing on a success) and its
// call-duration histogram (one more clock reading and one Observe per
// call):
//
//	go test -run '^$' -bench RetrySuccessMetrics -benchmem -count 8 -benchtime 300ms ./retry > split.txt
//	benchstat -col /metrics split.txt
func BenchmarkRetrySuccessMetrics(b *testing.B) {
	for _, v := range []struct {
		name     string
		balancer bool
		retrier  int
	}{
		{"none", false, retrierNone},
		{"balancer", true, retrierNone},
		{"retrier-counters", false, retrierCounters},
		{"retrier", false, retrierAll},
		{"balancer+retrier-counters", true, retrierCounters},
		{"both", true, retrierAll},
	} {
		b.Run("metrics="+v.name, func(b *testing.B) {
			runChain(b, metricsChain(b, failingFactory(1), v.balancer, v.retrier))
		})
	}
}

// BenchmarkRetryHTTPMetrics is BenchmarkRetrySuccessMetrics on a real call:
// a go-kit HTTP client endpoint to an httptest server on 127.0.0.1 behind
// every instance of the balancer. It shows what the metrics cost where the
// call is a real one:
//
//	go test -run '^$' -bench RetryHTTPMetrics -benchmem -count 8 -benchtime 300ms ./retry > http.txt
//	benchstat -col /metrics http.txt
func BenchmarkRetryHTTPMetrics(b *testing.B) {
	ep := httpEndpoint(b)
	toServer := func(string) (endpoint.Endpoint, io.Closer, error) { return ep, nil, nil }
	for _, v := range []struct {
		name     string
		balancer bool
		retrier  int
	}{{"none", false, retrierNone}, {"both", true, retrierAll}} {
		b.Run("metrics="+v.name, func(b *testing.B) {
			runChain(b, metricsChain(b, toServer, v.balancer, v.retrier))
		})
	}
}
