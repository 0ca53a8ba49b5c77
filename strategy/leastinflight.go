package strategy

import (
	"math/rand/v2"
	"strconv"
)

// LeastInFlight draws Choices hosts at random and picks the one with the
// fewest calls in flight relative to its weight (ties go to the first
// drawn). With two choices (the default) it is the power of two choices
// (Mitzenmacher), which keeps the busiest host's queue exponentially shorter
// than random choice does at the cost of two loads; three is what the gRPC
// connection pool among lbkit's references does. With Choices at least the
// number of hosts it is plain least-loaded, and costs a scan of them all.
//
// It reacts to load within one request and needs no clock, but it sees
// neither errors nor latency: a host that fails fast has few calls in
// flight and so draws more traffic, not less. Use PeakEWMA unless every
// host is known to be healthy.
type LeastInFlight struct {
	// Choices is how many hosts each pick compares; 0 means
	// DefaultLeastInFlightChoices. Negative is invalid.
	Choices int
	// Rand, if set, is the source of the picks' random numbers, for
	// repeatable simulations; it must be safe for concurrent use unless
	// only one goroutine picks. By default the runtime's generator is used.
	Rand rand.Source
}

// Validate returns an error wrapping ErrInvalidArgument for a negative
// number of choices.
func (s LeastInFlight) Validate() error {
	if s.Choices < 0 {
		return invalid("least-in-flight needs at least 1 choice, got %d", s.Choices)
	}
	return nil
}

func (s LeastInFlight) choices() int {
	if s.Choices == 0 {
		return DefaultLeastInFlightChoices
	}
	return s.Choices
}

// Name is "p2c" with two choices and "least-in-flight(k)" otherwise.
func (s LeastInFlight) Name() string {
	if k := s.choices(); k != 2 {
		return "least-in-flight(" + strconv.Itoa(k) + ")"
	}
	return "p2c"
}

// NewPicker implements Strategy.
func (s LeastInFlight) NewPicker(hosts []*Host) Picker {
	if p := trivial(hosts); p != nil {
		return p
	}
	return &leastInFlightPicker{hosts: hosts, k: max(1, min(s.choices(), len(hosts))), rng: rngOf(s.Rand), weighted: !equalWeights(hosts)}
}

type leastInFlightPicker struct {
	hosts    []*Host
	k        int
	rng      rng
	weighted bool // the hosts' weights differ
}

// less reports whether host a is less loaded than host b: (f_a+1)/w_a <
// (f_b+1)/w_b, cross-multiplied to stay in integers. Weights are read only
// if they differ (as Host.SetWeight documents, a weight change takes
// effect with the next picker).
func (p *leastInFlightPicker) less(a, b *Host) bool {
	if !p.weighted {
		return a.InFlight() < b.InFlight()
	}
	return (a.InFlight()+1)*b.weight.Load() < (b.InFlight()+1)*a.weight.Load()
}

func (p *leastInFlightPicker) Pick() int {
	n := len(p.hosts)
	r := p.rng.uint64()
	switch {
	case p.k == 2:
		a, b := drawTwo(r, n)
		if p.less(p.hosts[b], p.hosts[a]) {
			return b
		}
		return a
	case p.k == 3:
		a, b, c := drawThree(r, n)
		if p.less(p.hosts[b], p.hosts[a]) {
			a = b
		}
		if p.less(p.hosts[c], p.hosts[a]) {
			a = c
		}
		return a
	case p.k >= n:
		// Every host is a candidate; starting the scan at a random one
		// shares ties out at random.
		first := index(uint32(r), n)
		best := first
		for j := 1; j < n; j++ {
			i := first + j
			if i >= n {
				i -= n
			}
			if p.less(p.hosts[i], p.hosts[best]) {
				best = i
			}
		}
		return best
	}
	first := index(uint32(r), n)
	d := newDrawer(p.rng, n, first, r>>32, 1)
	best := first
	for range p.k - 1 {
		if i := d.next(); p.less(p.hosts[i], p.hosts[best]) {
			best = i
		}
	}
	return best
}

// drawTwo maps 64 random bits to two distinct indices in [0, n), n ≥ 2:
// the second is drawn from the n-1 indices other than the first.
func drawTwo(r uint64, n int) (first, second int) {
	first = index(uint32(r), n)
	second = index(uint32(r>>32), n-1)
	if second >= first {
		second++
	}
	return first, second
}

// drawThree maps 64 random bits to three distinct indices in [0, n), n ≥ 3:
// the second drawn from the n-1 others, the third from the n-2 others,
// with the bits the first index left unused (see indexRest).
func drawThree(r uint64, n int) (first, second, third int) {
	first, rest := indexRest(uint32(r), n)
	second = index(uint32(r>>32), n-1)
	if second >= first {
		second++
	}
	third = index(rest, n-2)
	if third >= min(first, second) {
		third++
	}
	if third >= max(first, second) {
		third++
	}
	return first, second, third
}

// drawer draws distinct host indices at random, after a first one drawn by
// the caller. The j-th is drawn from the n-j hosts not drawn yet, by drawing
// a rank among them and stepping over the hosts already drawn, which it
// keeps sorted: no rejection, no loop that might run long. Past
// maxDistinctChoices draws it draws with repetition.
type drawer struct {
	g      rng
	n      int
	bits   uint64 // random bits not used yet, 32 at a time
	left   int    // how many 32-bit halves of bits are left
	have   int    // indices drawn, the first included
	sorted [maxDistinctChoices]int
}

// newDrawer starts a draw after first; spare, if left is 1, holds 32
// random bits the caller did not use.
func newDrawer(g rng, n, first int, spare uint64, left int) drawer {
	d := drawer{g: g, n: n, bits: spare, left: left, have: 1}
	d.sorted[0] = first
	return d
}

func (d *drawer) next() int {
	if d.left == 0 {
		d.bits, d.left = d.g.uint64(), 2
	}
	x := uint32(d.bits)
	d.bits >>= 32
	d.left--
	if d.have >= maxDistinctChoices {
		return index(x, d.n)
	}
	i := index(x, d.n-d.have)
	at := 0
	for ; at < d.have && d.sorted[at] <= i; at++ {
		i++
	}
	copy(d.sorted[at+1:d.have+1], d.sorted[at:d.have])
	d.sorted[at] = i
	d.have++
	return i
}
