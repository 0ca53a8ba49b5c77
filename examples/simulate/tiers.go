package main

import (
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// tierScenarios are the failover-tier and zone-aware routing scenarios:
// the backends' priorities and zones are set by a scenario event at 0 s,
// as discovery would set them.
func tierScenarios() []*scenario {
	prios := make([]int, 8)
	for i := 4; i < 8; i++ {
		prios[i] = 1
	}
	zones := []string{"a", "a", "a", "a", "b", "b", "b", "b", "c", "c", "c", "c"}
	return []*scenario{{
		name:     "failover-tiers",
		title:    "b0-b3 priority 0, b4-b7 priority 1: b0, b1 fail every call from 10 s to 30 s; 8 clients",
		clients:  8,
		duration: 40 * time.Second,
		backends: healthy(8),
		events: []scenarioEvent{placeHosts(prios, nil),
			setFail(10*time.Second, 0, 1), setFail(10*time.Second, 1, 1),
			setFail(30*time.Second, 0, 0), setFail(30*time.Second, 1, 0)},
	}, {
		name:     "zone-aware",
		title:    "12 backends in zones a, b, c; the client in zone a: b0, b1 fail every call from 10 s to 30 s; 8 clients",
		clients:  8,
		duration: 40 * time.Second,
		backends: healthy(12),
		hostOpts: []strategy.Option{strategy.WithLocalZone("a", 0)},
		events: []scenarioEvent{placeHosts(nil, zones),
			setFail(10*time.Second, 0, 1), setFail(10*time.Second, 1, 1),
			setFail(30*time.Second, 0, 0), setFail(30*time.Second, 1, 0)},
	}}
}

// placeHosts gives backend i priority prios[i] and zone zones[i] (either
// may be nil) at 0 s.
func placeHosts(prios []int, zones []string) scenarioEvent {
	return scenarioEvent{what: "tiers and zones set", apply: func(s *sim) {
		for _, hosts := range s.hosts { // every balancer's record of the backends
			for i, h := range hosts {
				if h == nil {
					continue
				}
				if prios != nil {
					h.SetPriority(prios[i])
				}
				if zones != nil {
					h.SetZone(zones[i])
				}
			}
		}
		s.chooser.rebuild(s)
	}}
}
