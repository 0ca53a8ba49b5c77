package main

import (
	"math/rand/v2"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// Backend-reported load (package orca, strategy.WeightedRoundRobin): the
// simulated backends report their utilization and RPS, as a backend with
// orca.Reporter does in every response, and the "wrr-load" row weights
// them as gRPC's weighted_round_robin (gRFC A58) does.

// reportInterval is how often a simulated backend renews its report:
// orca.DefaultInterval.
const reportInterval = int64(time.Second)

// reportedLoadScenario has backends of two speeds that look alike to
// discovery: what tells them apart is the load they report.
func reportedLoadScenario() *scenario {
	bs := healthy(10)
	for i := range bs {
		bs[i].capacity = 4
	}
	for i := 5; i < 10; i++ {
		bs[i].lat = expDist(4 * time.Millisecond)
	}
	return &scenario{
		name:     "reported-load",
		title:    "10 backends serving 4 calls at a time: b0-b4 take 1 ms a call, b5-b9 4 ms; they report utilization and RPS; 16 clients",
		clients:  16,
		duration: 60 * time.Second,
		backends: bs,
		extra:    []contestant{wrrLoadContestant()},
	}
}

// wrrLoadContestant is strategy.WeightedRoundRobin with its defaults (a
// 10 s blackout, 1 s updates), fed by the backends' reports.
func wrrLoadContestant() contestant {
	return contestant{name: "wrr-load (A58)", build: func(s *sim, seed uint64) (chooser, error) {
		n := len(s.sc.backends)
		return &loadReporting{
			strat: strategy.WeightedRoundRobin{SyncRebuild: true, Rand: rand.NewPCG(seed, 0xa58)},
			busy:  make([]float64, n),
			calls: make([]int, n),
		}, nil
	}}
}

// loadReporting picks with a WeightedRoundRobin picker over the set's
// hosts, and plays the backends' side: it integrates each backend's busy
// slots over time and counts the calls it sends there, and every
// reportInterval hands each host its backend's utilization (busy slots
// over capacity) and RPS, as the backend's Reporter would in its
// responses.
type loadReporting struct {
	strat  strategy.WeightedRoundRobin
	picker strategy.Picker
	ids    []int // backend id per index of the picker's hosts
	busy   []float64
	calls  []int
	last   int64 // time busy was last integrated to
	start  int64 // start of the current report interval
}

func (c *loadReporting) rebuild(s *sim) {
	hosts := make([]*strategy.Host, len(s.active))
	for i, id := range s.active {
		hosts[i] = s.hosts[0][id] // one balancer: the scenario is not per client
	}
	c.ids = append(c.ids[:0], s.active...)
	c.picker = c.strat.NewPicker(hosts)
}

func (c *loadReporting) pick(s *sim, _ int32) int {
	c.account(s)
	i := c.picker.Pick()
	if i < 0 {
		return -1
	}
	id := c.ids[i]
	c.calls[id]++
	return id
}

// account integrates the backends' busy slots up to now (the state at the
// last pick stands for the time since: picks come far more often than a
// report interval) and sends the reports that are due.
func (c *loadReporting) account(s *sim) {
	if dt := s.now - c.last; dt > 0 {
		for _, b := range s.backends {
			if b.up {
				c.busy[b.id] += float64(min(len(b.serving), b.capacity)) / float64(b.capacity) * float64(dt)
			}
		}
		c.last = s.now
	}
	span := s.now - c.start
	if span < reportInterval {
		return
	}
	for _, id := range s.active {
		if h := s.hosts[0][id]; h != nil {
			h.ReportLoad(strategy.LoadReport{
				CPUUtilization: c.busy[id] / float64(span),
				RPS:            float64(c.calls[id]) / time.Duration(span).Seconds(),
			})
		}
	}
	clear(c.busy)
	clear(c.calls)
	c.start = s.now
}
