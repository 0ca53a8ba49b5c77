package strategy

import (
	"math/rand/v2"
	"slices"
)

// Random picks a backend uniformly at random. Unlike go-kit's lb.NewRandom,
// whose *rand.Rand is not safe for concurrent use, it draws from the
// runtime's per-thread generator, so concurrent picks need no lock.
func Random() Strategy { return randomStrategy{} }

type randomStrategy struct{}

func (randomStrategy) Name() string { return "random" }

func (randomStrategy) NewPicker(hosts []*Stats) Picker {
	if p := trivial(hosts); p != nil {
		return p
	}
	return randomPicker(len(hosts))
}

// randomPicker maps a 32-bit random number onto [0, n) by multiplication
// (Lemire's method without the rejection step). The bias is below n/2³²,
// under one in four million for a thousand hosts, and it saves a division
// per pick.
type randomPicker uint64

func (n randomPicker) Pick() int { return int((uint64(rand.Uint32()) * uint64(n)) >> 32) }

// WeightedRandom picks a backend at random with probability proportional to
// its weight. With equal weights it is Random.
func WeightedRandom() Strategy { return weightedRandomStrategy{} }

type weightedRandomStrategy struct{}

func (weightedRandomStrategy) Name() string { return "weighted-random" }

func (weightedRandomStrategy) NewPicker(hosts []*Stats) Picker {
	if p := trivial(hosts); p != nil {
		return p
	}
	if equalWeights(hosts) {
		return randomPicker(len(hosts))
	}
	// cum[i] is the total weight of hosts[0..i]; a uniform draw in
	// [0, total) lands in host i with probability weight(i)/total.
	cum := make([]int64, len(hosts))
	var total int64
	for i, h := range hosts {
		total += int64(h.Weight())
		cum[i] = total
	}
	return &weightedRandomPicker{cum: cum, total: total}
}

type weightedRandomPicker struct {
	cum   []int64
	total int64
}

func (p *weightedRandomPicker) Pick() int {
	x := rand.Int64N(p.total)
	i, found := slices.BinarySearch(p.cum, x)
	if found {
		i++ // cum[i] == x belongs to the next host's range
	}
	return i
}

func equalWeights(hosts []*Stats) bool {
	w := hosts[0].Weight()
	for _, h := range hosts[1:] {
		if h.Weight() != w {
			return false
		}
	}
	return true
}
