package main

import (
	"fmt"
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
			extra:    baseRows(),
		}
	}
	// b9 joins at 10 s with a cold cache: ten times slower than the others
	// until 20 s.
	cold := func(name, title string, opts ...strategy.Option) *scenario {
		bs := healthy(10)
		bs[9].absent = true
		bs[9].lat = expDist(10 * time.Millisecond)
		return &scenario{
			name:     name,
			title:    "9 backends; b9 joins at 10 s, 10× slower until 20 s (cold); 8 clients; " + title,
			clients:  8,
			duration: 40 * time.Second,
			backends: bs,
			events:   []scenarioEvent{join(10*time.Second, 9), setLatency(20*time.Second, 9, time.Millisecond)},
			hostOpts: opts,
			extra:    baseRows(),
		}
	}
	return []*scenario{
		mk("outliers", "no ejection"),
		mk("outliers-ejected", "outlier ejection and slow start (defaults)",
			strategy.WithOutlierEjection(strategy.OutlierEjection{}), strategy.WithSlowStart(strategy.SlowStart{})),
		cold("cold-join", "no slow start"),
		cold("cold-join-slow-start", "slow start (defaults: 30 s from 10%)", strategy.WithSlowStart(strategy.SlowStart{})),
	}
}

// baseRows are lbkit's round-robin and random through the host set: rows
// that differ from go-kit's only by what the scenario's host options add.
func baseRows() []contestant {
	return []contestant{
		{name: "round-robin", strategy: func(uint64) strategy.Strategy { return strategy.RoundRobin{} }},
		{name: "random", strategy: func(uint64) strategy.Strategy { return strategy.Random{} }},
	}
}

func setLatency(at time.Duration, id int, mean time.Duration) scenarioEvent {
	return scenarioEvent{at: at, what: fmt.Sprintf("b%d mean latency %v", id, mean), apply: func(s *sim) {
		s.backends[id].lat = expDist(mean)
	}}
}
