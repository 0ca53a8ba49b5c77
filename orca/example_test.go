package orca_test

import (
	"fmt"

	"github.com/seed41aebe0c/lbkit/orca"
	"github.com/seed41aebe0c/lbkit/strategy"
)

func Example() {
	// A backend's report, as its Reporter writes it into each response.
	value, _ := orca.Format(orca.Load{CPUUtilization: 0.3, RPS: 10, EPS: 1, NamedMetrics: map[string]float64{"foo": 2}})
	fmt.Println(value)

	// The client: the balancer tells Reports its hosts
	// (loadbalancer.WithHostWatcher(reports)); the factory's client hook
	// (orca.ClientAfter(reports, instance)) hands each response's header
	// to Reports, which passes it to the host of that instance.
	reports := new(orca.Reports)
	host, _ := strategy.NewHost("127.0.0.1:8080", 1)
	reports.SetHosts([]*strategy.Host{host})
	if err := reports.ReportHeader("127.0.0.1:8080", value); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%+v\n", host.Stats().Load.Last)

	// Parse reads the whole report, named metrics included.
	l, _ := orca.Parse("TEXT cpu_utilization=0.3, rps_fractional=10, eps=1, named_metrics.foo=2")
	fmt.Println(l.NamedMetrics["foo"])
	// Output:
	// TEXT cpu_utilization=0.3,rps_fractional=10,eps=1,named_metrics.foo=2
	// {CPUUtilization:0.3 ApplicationUtilization:0 RPS:10 EPS:1}
	// 2
}
