package strategy

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"sync/atomic"
)

// MaxScheduleLength bounds the schedule a weighted round-robin picker
// precomputes. When the weights (divided by their greatest common divisor)
// add up to more, they are scaled down proportionally, keeping every backend
// at least one slot.
const MaxScheduleLength = 1 << 16

// RoundRobin picks hosts in turn, or, with Weighted, each as often as its
// weight relative to the others, interleaved smoothly (weights 3,1 give
// a a b a, not a a a b; with equal weights the two are the same). Each new
// picker starts at a random position, so that a fleet of clients that
// restart together do not all send their first request to the same host.
// It ignores outcomes and load.
type RoundRobin struct {
	// Weighted visits hosts in proportion to their weights.
	Weighted bool
}

// Name is "round-robin" or "weighted-round-robin".
func (r RoundRobin) Name() string {
	if r.Weighted {
		return "weighted-round-robin"
	}
	return "round-robin"
}

// NewPicker implements Strategy.
func (r RoundRobin) NewPicker(hosts []*Host) Picker {
	if p := trivial(hosts); p != nil {
		return p
	}
	if !r.Weighted || equalWeights(hosts) {
		p := &roundRobinPicker{mod: newFastMod(uint32(len(hosts)))}
		p.next.Store(rand.Uint32N(uint32(len(hosts))))
		return p
	}
	sched := schedule(weightsOf(hosts))
	p := &scheduledPicker{sched: sched, mod: newFastMod(uint32(len(sched)))}
	p.next.Store(rand.Uint32N(uint32(len(sched))))
	return p
}

// roundRobinPicker counts picks in 32 bits so that fastMod can take the
// remainder without dividing. The counter wraps every 2³² picks, where one
// cycle is cut short unless the host count divides 2³²: harmless.
type roundRobinPicker struct {
	next atomic.Uint32
	_    [60]byte // keep the hot counter on its own cache line
	mod  fastMod
}

func (p *roundRobinPicker) Pick() int { return p.mod.of(p.next.Add(1)) }

type scheduledPicker struct {
	next  atomic.Uint32
	_     [60]byte
	mod   fastMod
	sched []int32
}

func (p *scheduledPicker) Pick() int { return int(p.sched[p.mod.of(p.next.Add(1)-1)]) }

func weightsOf(hosts []*Host) []int64 {
	w := make([]int64, len(hosts))
	for i, h := range hosts {
		w[i] = int64(h.Weight())
	}
	return w
}

// schedule lays out one cycle in which backend i appears weight[i] times,
// each backend's visits evenly spread: visit k of backend i is placed at
// virtual time (k+½)/weight[i], and the cycle is all visits in virtual-time
// order. Building it costs O(T log T) for a cycle of length T.
func schedule(weights []int64) []int32 {
	g := weights[0]
	for _, w := range weights[1:] {
		g = gcd(g, w)
	}
	var total int64
	for i := range weights {
		weights[i] /= g
		total += weights[i]
	}
	if total > MaxScheduleLength {
		scale := float64(MaxScheduleLength-len(weights)) / float64(total)
		total = 0
		for i := range weights {
			weights[i] = max(1, int64(float64(weights[i])*scale))
			total += weights[i]
		}
	}
	type visit struct {
		at   float64
		host int32
	}
	visits := make([]visit, 0, total)
	for i, w := range weights {
		for k := range w {
			visits = append(visits, visit{at: (float64(k) + 0.5) / float64(w), host: int32(i)})
		}
	}
	slices.SortFunc(visits, func(a, b visit) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.host, b.host)
	})
	sched := make([]int32, len(visits))
	for i, v := range visits {
		sched[i] = v.host
	}
	return sched
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
