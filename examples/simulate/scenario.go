package main

import (
	"fmt"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// scenario is a fleet of backends, a number of clients and a script of
// changes.
type scenario struct {
	name     string
	title    string
	clients  int
	duration time.Duration
	backends []backendSpec
	events   []scenarioEvent
	// watch, if set, is a backend whose traffic share is tracked: how soon
	// it falls below 5% after turning bad, and how soon it is back to half
	// its fair share after recovering.
	watch *watch
	// hostOpts are more options of the host set lbkit's rows pick with.
	hostOpts []strategy.Option
	// extra are rows run in this scenario only, after everyone's.
	extra []contestant
	// perClient gives every client a balancer of its own (its own host
	// statistics) instead of one that all share.
	perClient bool
	// settled, if set, adds a column: first-try success over the requests
	// after the first 10%, once the strategies have had time to learn.
	settled bool
}

type scenarioEvent struct {
	at    time.Duration
	what  string
	apply func(*sim)
}

type watch struct {
	backend   int
	bad, good time.Duration
}

// healthy returns n backends that never fail, serve two calls at once and
// take an exponentially distributed 1 ms per call.
func healthy(n int) []backendSpec {
	bs := make([]backendSpec, n)
	for i := range bs {
		bs[i] = backendSpec{lat: expDist(time.Millisecond), capacity: 2}
	}
	return bs
}

func setFail(at time.Duration, id int, p float64) scenarioEvent {
	return scenarioEvent{at: at, what: fmt.Sprintf("b%d fails %.0f%%", id, 100*p), apply: func(s *sim) { s.backends[id].fail = p }}
}

func join(at time.Duration, ids ...int) scenarioEvent {
	return scenarioEvent{at: at, what: fmt.Sprintf("%v join", names(ids)), apply: func(s *sim) {
		for _, id := range ids {
			s.join(id)
		}
		s.chooser.rebuild(s)
	}}
}

func leave(at time.Duration, ids ...int) scenarioEvent {
	return scenarioEvent{at: at, what: fmt.Sprintf("%v leave", names(ids)), apply: func(s *sim) {
		for _, id := range ids {
			s.leave(id)
		}
	}}
}

func names(ids []int) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf("b%d", id)
	}
	return s
}

// scenarios returns the simulated situations, the reference
// scenario first.
func scenarios() []*scenario {
	var out []*scenario

	bs := healthy(10)
	bs[0].fail = 0.5
	bs[1].lat = expDist(10 * time.Millisecond)
	out = append(out, &scenario{
		name:     "bad-and-slow",
		title:    "10 backends: b0 fails 50% of calls, b1 is 10× slower; 8 clients",
		clients:  8,
		duration: 30 * time.Second,
		backends: bs,
	})

	out = append(out, &scenario{
		name:     "turns-bad",
		title:    "10 backends: b3 fails every call from 10 s to 30 s, then recovers; 8 clients",
		clients:  8,
		duration: 60 * time.Second,
		backends: healthy(10),
		events:   []scenarioEvent{setFail(10*time.Second, 3, 1), setFail(30*time.Second, 3, 0)},
		watch:    &watch{backend: 3, bad: 10 * time.Second, good: 30 * time.Second},
	})

	var flaps []scenarioEvent
	for t := 5 * time.Second; t < 60*time.Second; t += 6 * time.Second {
		flaps = append(flaps, setFail(t, 2, 1), setFail(t+2*time.Second, 2, 0))
	}
	out = append(out, &scenario{
		name:     "flapping",
		title:    "10 backends: b2 fails every call for 2 s in every 6 s; 8 clients",
		clients:  8,
		duration: 60 * time.Second,
		backends: healthy(10),
		events:   flaps,
	})

	bs = healthy(10)
	for i := range bs {
		bs[i].lat = lognormalDist(time.Millisecond, 1)
	}
	bs[0].lat = paretoDist(4*time.Millisecond, 1.5)
	out = append(out, &scenario{
		name:     "heavy-tail",
		title:    "10 backends with lognormal latency (mean 1 ms, σ 1); b0 Pareto (mean 4 ms, α 1.5); 8 clients",
		clients:  8,
		duration: 30 * time.Second,
		backends: bs,
	})

	bs = healthy(10)
	for i := 6; i < 10; i++ {
		bs[i].absent = true
	}
	bs[9].lat = expDist(5 * time.Millisecond)
	out = append(out, &scenario{
		name:     "join-leave",
		title:    "6 backends; b6-b9 join at 10 s (b9 5× slower); b0, b1 leave at 20 s; b0 returns at 30 s; 8 clients",
		clients:  8,
		duration: 40 * time.Second,
		backends: bs,
		events:   []scenarioEvent{join(10*time.Second, 6, 7, 8, 9), leave(20*time.Second, 0, 1), join(30*time.Second, 0)},
	})

	bs = healthy(10)
	bs[0].fail, bs[0].failFast = 1, 50*time.Microsecond
	out = append(out, &scenario{
		name:     "black-hole",
		title:    "10 backends: b0 fails every call within 50 µs (connection refused); 8 clients",
		clients:  8,
		duration: 30 * time.Second,
		backends: bs,
	})

	bs = healthy(10)
	for i := range 5 {
		bs[i].capacity = 1
	}
	for i := 5; i < 10; i++ {
		bs[i].capacity = 4
	}
	out = append(out, &scenario{
		name:     "mixed-capacity",
		title:    "10 backends: b0-b4 serve 1 call at a time, b5-b9 serve 4; 16 clients",
		clients:  16,
		duration: 30 * time.Second,
		backends: bs,
	})

	bs = healthy(10)
	for i := range bs {
		bs[i].capacity = 4
	}
	out = append(out, &scenario{
		name:     "capacity",
		title:    "10 identical backends that serve 4 calls at a time and queue the rest (FIFO); 32 clients",
		clients:  32,
		duration: 30 * time.Second,
		backends: bs,
	})
	out = append(out, tierScenarios()...)
	out = append(out, outlierScenarios()...)
	out = append(out, reportedLoadScenario())
	out = append(out, &scenario{
		name:     "many-flaky",
		title:    "1,000 backends, every 20th (5%) fails half its calls; 32 clients share a balancer",
		clients:  32,
		duration: 30 * time.Second,
		backends: flaky(1000),
		settled:  true,
	})

	out = append(out, &scenario{
		name:      "per-client",
		title:     "1,000 backends, every 20th (5%) fails half its calls; 100 clients, each with a balancer of its own",
		clients:   100,
		duration:  20 * time.Second,
		backends:  flaky(1000),
		perClient: true,
		settled:   true,
	})
	return out
}

// flaky returns n healthy backends of which every 20th fails half its
// calls.
func flaky(n int) []backendSpec {
	bs := healthy(n)
	for i := 0; i < n; i += 20 {
		bs[i].fail = 0.5
	}
	return bs
}
