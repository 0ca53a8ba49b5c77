package lbmetrics_test

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/go-kit/kit/endpoint"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/lbmetrics"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// One NewPrometheus per namespace, one Service per service: the service's
// name and the host are labels, so one query sums over services.
func Example() {
	reg := prometheus.NewRegistry()
	pm, err := lbmetrics.NewPrometheus(reg, "myapp")
	if err != nil {
		panic(err)
	}
	users := pm.Service("users")

	pub, err := static.NewAddresses("10.0.0.1:80", "10.0.0.2:80")
	if err != nil {
		panic(err)
	}
	defer pub.Stop()
	pub.SetMetrics(users.Discovery)
	ok := func(context.Context, any) (any, error) { return "ok", nil }
	factory := func(string) (endpoint.Endpoint, io.Closer, error) { return ok, nil, nil }
	b, err := loadbalancer.New(pub, factory, loadbalancer.WithStrategy(strategy.RoundRobin{}), loadbalancer.WithMetrics(users.Balancer))
	if err != nil {
		panic(err)
	}
	r, err := retry.New(b, retry.WithMetrics(users.Retry))
	if err != nil {
		panic(err)
	}
	for range 4 {
		if _, err := r.Endpoint()(context.Background(), nil); err != nil {
			panic(err)
		}
	}
	r.Close()
	b.Close() // reports the last counts

	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		switch name := mf.GetName(); name {
		case "myapp_balancer_host_requests_total", "myapp_retry_budget_exhausted_total", "myapp_discovery_instances":
			for _, m := range mf.GetMetric() {
				var ls []string
				for _, l := range m.GetLabel() {
					ls = append(ls, l.GetName()+"="+l.GetValue())
				}
				fmt.Println(name, strings.Join(ls, ","), m.GetCounter().GetValue()+m.GetGauge().GetValue())
			}
		case "myapp_retry_request_duration_seconds":
			fmt.Println(name, "count", mf.GetMetric()[0].GetHistogram().GetSampleCount())
		}
	}
	// Output:
	// myapp_balancer_host_requests_total host=10.0.0.1:80,service=users 2
	// myapp_balancer_host_requests_total host=10.0.0.2:80,service=users 2
	// myapp_discovery_instances service=users 2
	// myapp_retry_budget_exhausted_total service=users 0
	// myapp_retry_request_duration_seconds count 4
}
