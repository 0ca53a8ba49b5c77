package strategy

import (
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"unsafe"
)

// Random picks a host uniformly at random, or, with Weighted, with
// probability proportional to its weight (with equal weights the two are
// the same). Unlike go-kit's lb.NewRandom, whose *rand.Rand is not safe for
// concurrent use, it needs no lock. It ignores outcomes and load.
//
// With Rand set it is go-kit's lb.NewRandom(endpointer, seed): the same
// source, seeded the same, gives the same sequence of picks over the same
// hosts, for tests and simulations that must repeat. (A host set's pick
// that must skip hosts already tried, on a retry, may end in an unseeded
// scan; first picks follow the source alone.)
type Random struct {
	// Weighted picks hosts in proportion to their weights.
	Weighted bool
	// Rand, if set, is the source of the picks' random numbers, as in
	// Bandit: for example rand.NewPCG(seed, 0) for go-kit's seeded
	// NewRandom. Pickers built from one Random share the source, so a
	// sequence continues across host-set changes. It must be safe for
	// concurrent use unless only one goroutine picks (rand.NewPCG is not,
	// as go-kit's seeded *rand.Rand was not). By default each picker draws
	// from its own lock-free, unseeded generator.
	Rand rand.Source
}

// Name is "random" or "weighted-random".
func (r Random) Name() string {
	if r.Weighted {
		return "weighted-random"
	}
	return "random"
}

// NewPicker implements Strategy.
func (r Random) NewPicker(hosts []*Host) Picker {
	if p := trivial(hosts); p != nil {
		return p
	}
	if !r.Weighted || equalWeights(hosts) {
		if r.Rand != nil {
			return &seededRandomPicker{g: rngOf(r.Rand), n: len(hosts)}
		}
		return newRandomPicker(len(hosts))
	}
	// cum[i] is the total weight of hosts[0..i]; a uniform draw in
	// [0, total) lands in host i with probability weight(i)/total.
	cum := make([]int64, len(hosts))
	var total int64
	for i, h := range hosts {
		total += int64(h.Weight())
		cum[i] = total
	}
	return &weightedRandomPicker{cum: cum, total: total, g: rngOf(r.Rand)}
}

// seededRandomPicker draws from the caller's source: one draw per pick, so
// equal sources give equal sequences.
type seededRandomPicker struct {
	g rng
	n int
}

func (p *seededRandomPicker) Pick() int { return index(uint32(p.g.uint64()>>32), p.n) }

// randomPicker draws from per-picker wyrand sequences: atomic Weyl counters
// (one add, as a round-robin pick costs) scrambled by wyrand's mixer, one
// 64x64->128-bit multiply whose halves are folded together (the runtime's
// own generator before ChaCha8; its outputs pass BigCrush and PractRand).
// That is cheaper than the runtime's generator on the serial path, and
// than splitmix64's two dependent multiplies, and safe for concurrent use. So that
// goroutines on different CPUs rarely share a counter's cache line, there
// are several counters, and a goroutine picks one by its stack address: a
// free, stable-enough hint that differs between goroutines. (A goroutine
// whose stack moves just uses another counter.)
//
// The top 32 bits map onto [0, n) by multiplication (Lemire's method without
// the rejection step): the bias is below n/2³², under one in four million
// for a thousand hosts, and it saves a division per pick.
type randomPicker struct {
	stripes [randomStripes]paddedCounter
	n       uint64
}

const randomStripes = 8

type paddedCounter struct {
	atomic.Uint64
	_ [56]byte
}

func newRandomPicker(n int) *randomPicker {
	p := &randomPicker{n: uint64(n)}
	for i := range p.stripes {
		p.stripes[i].Store(rand.Uint64()) // each counter its own sequence
	}
	return p
}

func (p *randomPicker) Pick() int {
	var here byte
	stripe := (uintptr(unsafe.Pointer(&here)) >> 11) % randomStripes
	z := wymix(p.stripes[stripe].Add(0xa0761d6478bd642f))
	return int((z >> 32 * p.n) >> 32)
}

// wymix is wyrand's output function of its Weyl state s.
func wymix(s uint64) uint64 {
	hi, lo := bits.Mul64(s, s^0xe7037ed1a0b428db)
	return hi ^ lo
}

type weightedRandomPicker struct {
	cum   []int64
	total int64
	g     rng
}

func (p *weightedRandomPicker) Pick() int {
	var x int64
	if p.g.r == nil {
		x = rand.Int64N(p.total)
	} else {
		x = p.g.r.Int64N(p.total)
	}
	i, found := slices.BinarySearch(p.cum, x)
	if found {
		i++ // cum[i] == x belongs to the next host's range
	}
	return i
}

func equalWeights(hosts []*Host) bool {
	w := hosts[0].Weight()
	for _, h := range hosts[1:] {
		if h.Weight() != w {
			return false
		}
	}
	return true
}
