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
	// pick returns a backend id for client's next attempt, or -1 when
	// there is none.
	pick(s *sim, client int32) int
}

// contestant is one row of the results: a way of choosing backends.
type contestant struct {
	name string
	// latencyTarget, if set, scores outcomes with
	// strategy.LatencyScorer(latencyTarget) instead of ErrorScorer.
	latencyTarget time.Duration
	// strategy, for lbkit's rows, returns the strategy seeded for a run;
	// the hosts' set then picks with it. It is nil for the references.
	strategy func(seed uint64) strategy.Strategy
	// build, for the references, returns their own chooser.
	build func(s *sim, seed uint64) (chooser, error)
}

// scoredTarget is the target of the latency-scored bandits: twice the
// healthy backends' mean service time, about their 85th percentile.
const scoredTarget = 2 * time.Millisecond

// contestants returns every row, the references first.
func contestants() []contestant {
	// src is a run's seeded source of the picks' random numbers. One
	// goroutine picks per run, so a PCG needs no lock.
	src := func(seed uint64) rand.Source { return rand.NewPCG(seed, 0x9e3779b9) }
	lbkit := func(name string, target time.Duration, mk func(seed uint64) strategy.Strategy) contestant {
		return contestant{name: name, latencyTarget: target, strategy: mk}
	}
	bandit := func(seed uint64) strategy.Bandit { return strategy.Bandit{Rand: src(seed)} }
	return []contestant{
		{name: "oracle", build: func(_ *sim, seed uint64) (chooser, error) {
			return &oracle{rng: rand.New(rand.NewPCG(seed, 0x0cac1e))}, nil
		}},
		{name: "round-robin (go-kit)", build: func(*sim, uint64) (chooser, error) { return &gokit{}, nil }},
		{name: "random (go-kit)", build: func(_ *sim, seed uint64) (chooser, error) { return &gokit{random: true, seed: int64(seed)}, nil }},
		lbkit("p2c", 0, func(seed uint64) strategy.Strategy { return strategy.LeastInFlight{Choices: 2, Rand: src(seed)} }),
		lbkit("least-in-flight(3)", 0, func(seed uint64) strategy.Strategy { return strategy.LeastInFlight{Choices: 3, Rand: src(seed)} }),
		lbkit("peak-ewma(classic,k=2)", 0, func(seed uint64) strategy.Strategy {
			return strategy.PeakEWMA{Choices: 2, Classic: true, Rand: src(seed)}
		}),
		lbkit("peak-ewma(k=2)", 0, func(seed uint64) strategy.Strategy { return strategy.PeakEWMA{Choices: 2, Rand: src(seed)} }),
		lbkit("peak-ewma", 0, func(seed uint64) strategy.Strategy { return strategy.PeakEWMA{Rand: src(seed)} }),
		lbkit("epsilon-greedy(0.1)", 0, func(seed uint64) strategy.Strategy {
			return strategy.EpsilonGreedy{Epsilon: 0.1, Bandit: bandit(seed)}
		}),
		lbkit("softmax(0.1)", 0, func(seed uint64) strategy.Strategy {
			return strategy.Softmax{Temperature: 0.1, Bandit: bandit(seed)}
		}),
		lbkit("ucb1", 0, func(seed uint64) strategy.Strategy { return strategy.UCB1{Bandit: bandit(seed)} }),
		lbkit("thompson", 0, func(seed uint64) strategy.Strategy { return strategy.Thompson{Bandit: bandit(seed)} }),
		lbkit("epsilon-greedy(0.1)+lat", scoredTarget, func(seed uint64) strategy.Strategy {
			return strategy.EpsilonGreedy{Epsilon: 0.1, Bandit: bandit(seed)}
		}),
		lbkit("softmax(0.1)+lat", scoredTarget, func(seed uint64) strategy.Strategy {
			return strategy.Softmax{Temperature: 0.1, Bandit: bandit(seed)}
		}),
	}
}

// setChooser picks with the run's host set, lbkit's own host-set core,
// which the simulation updates when the set of backends changes, as the
// balancer does.
type setChooser struct{}

func (setChooser) rebuild(s *sim) {
	for k, set := range s.sets {
		members := make([]strategy.Member[int], len(s.active))
		for i, id := range s.active {
			members[i] = strategy.Member[int]{Host: s.hosts[k][id], Value: id}
		}
		set.Update(members, nil)
	}
}

func (setChooser) pick(s *sim, client int32) int {
	// Like go-kit's Retry, the simulated client does not steer a retry
	// away from the backend that just failed: no hosts tried.
	m, err := s.sets[s.balancer(client)].Pick(nil)
	if err != nil {
		return -1
	}
	return m.Value
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

func (g *gokit) pick(*sim, int32) int {
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

func (o *oracle) pick(s *sim, _ int32) int {
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
