package main

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// chooser picks a backend for each attempt.
type chooser interface {
	// rebuild is called when the set of backends changes.
	rebuild(s *sim)
	// pick returns a backend id, or -1 when there is none.
	pick(s *sim) int
}

// contestant is one row of the results: a way of choosing backends.
type contestant struct {
	name string
	// latencyTarget, if set, scores outcomes with
	// loadbalancer.LatencyScorer(latencyTarget) instead of ErrorScorer.
	latencyTarget time.Duration
	build         func(s *sim, seed uint64) (chooser, error)
}

// scoredTarget is the target of the latency-scored bandits: twice the
// healthy backends' mean service time, about their 85th percentile.
const scoredTarget = 2 * time.Millisecond

// contestants returns every row, the references first.
func contestants() []contestant {
	lbkit := func(name string, target time.Duration, mk func(...strategy.Option) (strategy.Strategy, error)) contestant {
		return contestant{name: name, latencyTarget: target, build: func(s *sim, seed uint64) (chooser, error) {
			st, err := mk(strategy.WithPickerClock(s.clock), strategy.WithRand(rand.NewPCG(seed, 0x9e3779b9)))
			if err != nil {
				return nil, err
			}
			return &strategyChooser{st: st}, nil
		}}
	}
	return []contestant{
		{name: "oracle", build: func(_ *sim, seed uint64) (chooser, error) {
			return &oracle{rng: rand.New(rand.NewPCG(seed, 0x0cac1e))}, nil
		}},
		{name: "round-robin (go-kit)", build: func(*sim, uint64) (chooser, error) { return &gokit{}, nil }},
		{name: "random (go-kit)", build: func(_ *sim, seed uint64) (chooser, error) { return &gokit{random: true, seed: int64(seed)}, nil }},
		lbkit("p2c", 0, func(o ...strategy.Option) (strategy.Strategy, error) { return strategy.NewLeastInFlight(2, o...) }),
		lbkit("least-in-flight(3)", 0, func(o ...strategy.Option) (strategy.Strategy, error) { return strategy.NewLeastInFlight(3, o...) }),
		lbkit("peak-ewma(classic,k=2)", 0, func(o ...strategy.Option) (strategy.Strategy, error) {
			return strategy.NewPeakEWMA(append(o, strategy.WithFailurePenalty(0), strategy.WithChoices(2))...)
		}),
		lbkit("peak-ewma(k=2)", 0, func(o ...strategy.Option) (strategy.Strategy, error) {
			return strategy.NewPeakEWMA(append(o, strategy.WithChoices(2))...)
		}),
		lbkit("peak-ewma", 0, strategy.NewPeakEWMA),
		lbkit("epsilon-greedy(0.1)", 0, func(o ...strategy.Option) (strategy.Strategy, error) { return strategy.NewEpsilonGreedy(0.1, o...) }),
		lbkit("softmax(0.1)", 0, func(o ...strategy.Option) (strategy.Strategy, error) { return strategy.NewSoftmax(0.1, o...) }),
		lbkit("ucb1", 0, strategy.NewUCB1),
		lbkit("thompson", 0, strategy.NewThompson),
		lbkit("epsilon-greedy(0.1)+lat", scoredTarget, func(o ...strategy.Option) (strategy.Strategy, error) {
			return strategy.NewEpsilonGreedy(0.1, o...)
		}),
		lbkit("softmax(0.1)+lat", scoredTarget, func(o ...strategy.Option) (strategy.Strategy, error) { return strategy.NewSoftmax(0.1, o...) }),
	}
}

// strategyChooser drives a real lbkit strategy over the real statistics of
// the backends in the set, rebuilding the picker when the set changes, as
// the balancer does.
type strategyChooser struct {
	st     strategy.Strategy
	picker strategy.Picker
}

func (c *strategyChooser) rebuild(s *sim) {
	hosts := make([]*strategy.Stats, len(s.active))
	for i, id := range s.active {
		hosts[i] = s.stats[id]
	}
	c.picker = c.st.NewPicker(hosts)
}

func (c *strategyChooser) pick(s *sim) int {
	i := c.picker.Pick()
	if i < 0 {
		return -1
	}
	return s.active[i]
}

// gokit drives go-kit's own round-robin or random balancer over endpoints
// that report which backend they stand for.
type gokit struct {
	random bool
	seed   int64
	builds int64
	bal    lb.Balancer
}

func (g *gokit) rebuild(s *sim) {
	eps := make(sd.FixedEndpointer, len(s.active))
	for i, id := range s.active {
		eps[i] = endpoint.Endpoint(func(_ context.Context, req any) (any, error) {
			*req.(*int) = id
			return nil, nil
		})
	}
	g.builds++
	if g.random {
		g.bal = lb.NewRandom(eps, g.seed+g.builds)
	} else {
		g.bal = lb.NewRoundRobin(eps)
	}
}

func (g *gokit) pick(*sim) int {
	ep, err := g.bal.Endpoint()
	if err != nil {
		return -1
	}
	var id int
	_, _ = ep(context.Background(), &id)
	return id
}

// oracle knows every backend's true failure rate, mean latency and queue:
// among the backends with the lowest failure rate it picks the one with the
// lowest expected completion time, ties at random.
type oracle struct{ rng *rand.Rand }

func (*oracle) rebuild(*sim) {}

func (o *oracle) pick(s *sim) int {
	if len(s.active) == 0 {
		return -1
	}
	least := 2.0
	for _, id := range s.active {
		least = min(least, s.backends[id].fail)
	}
	best, bestT, ties := -1, 0.0, 0
	for _, id := range s.active {
		b := s.backends[id]
		if b.fail > least+1e-12 {
			continue
		}
		t := b.expectedCompletion()
		switch {
		case best < 0 || t < bestT-1e-9:
			best, bestT, ties = id, t, 1
		case t <= bestT+1e-9:
			ties++
			if o.rng.IntN(ties) == 0 {
				best = id
			}
		}
	}
	return best
}
