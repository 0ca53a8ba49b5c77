package strategy_test

import (
	"fmt"

	"github.com/seed41aebe0c/lbkit/strategy"
)

func ExampleWeightedRoundRobin() {
	// Three backends report the same RPS at different utilizations (in
	// practice package orca hands each response's report to its host).
	var hosts []*strategy.Host
	for i, u := range []float64{0.2, 0.5, 0.9} {
		h, _ := strategy.NewHost(fmt.Sprintf("127.0.0.1:%d", 8080+i), 1)
		h.ReportLoad(strategy.LoadReport{CPUUtilization: u, RPS: 100})
		hosts = append(hosts, h)
	}
	// No blackout, so that the reports count at once (the default waits
	// 10 s, as gRPC's weighted_round_robin does).
	p := strategy.WeightedRoundRobin{BlackoutPeriod: -1}.NewPicker(hosts)
	picks := make([]int, len(hosts))
	for range 1024 { // one cycle of the schedule
		picks[p.Pick()]++
	}
	fmt.Println(picks) // 1/0.2 : 1/0.5 : 1/0.9
	// Output:
	// [631 253 140]
}
