package main

import (
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// outlierScenarios are one situation twice, without and with the host
// set's outlier ejection and slow start (strategy.WithOutlierEjection and
// strategy.WithSlowStart, at their defaults, which are Envoy's): of 20
// backends, b0 fails every call within 50 µs (a black hole) from 10 s to
// 30 s, and b1 fails 20% of its calls throughout, an outlier only a
// comparison of success rates catches. The references (oracle, go-kit) do
// not use the set's picks, so they are the same in both; the extra rows
// are lbkit's round-robin and random, which without ejection are go-kit's.
func outlierScenarios() []*scenario {
	mk := func(name, title string, opts ...strategy.Option) *scenario {
		bs := healthy(20)
		bs[0].failFast = 50 * time.Microsecond
		bs[1].fail = 0.2
		return &scenario{
			name:     name,
			title:    "20 backends: b0 fails every call within 50 µs from 10 s to 30 s, b1 fails 20% throughout; 16 clients; " + title,
			clients:  16,
			duration: 90 * time.Second,
			backends: bs,
			events:   []scenarioEvent{setFail(10*time.Second, 0, 1), setFail(30*time.Second, 0, 0)},
			watch:    &watch{backend: 0, bad: 10 * time.Second, good: 30 * time.Second},
			hostOpts: opts,
			extra: []contestant{
				{name: "round-robin", strategy: func(uint64) strategy.Strategy { return strategy.RoundRobin{} }},
				{name: "random", strategy: func(uint64) strategy.Strategy { return strategy.Random{} }},
			},
		}
	}
	return []*scenario{
		mk("outliers", "no ejection"),
		mk("outliers-ejected", "outlier ejection and slow start (defaults)",
			strategy.WithOutlierEjection(strategy.OutlierEjection{}), strategy.WithSlowStart(strategy.SlowStart{})),
	}
}
