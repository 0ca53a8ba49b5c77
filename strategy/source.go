package strategy

import (
	"math"
	"math/rand/v2"
)

// rng is a picker's random number generator: the runtime's per-thread
// generator (lock-free, safe for concurrent use) unless a config's Rand
// field gave a seeded one.
type rng struct{ r *rand.Rand }

func (g rng) uint64() uint64 {
	if g.r == nil {
		return rand.Uint64()
	}
	return g.r.Uint64()
}

func (g rng) float64() float64 {
	if g.r == nil {
		return rand.Float64()
	}
	return g.r.Float64()
}

func (g rng) norm() float64 {
	if g.r == nil {
		return rand.NormFloat64()
	}
	return g.r.NormFloat64()
}

// index maps 32 random bits onto [0, n) with one multiplication (Lemire's
// method without its rejection step: the bias is below n/2³², negligible for
// any number of hosts a balancer has).
func index(x uint32, n int) int { return int(uint64(x) * uint64(n) >> 32) }

// indexRest is index, and also returns the low half of the product, which
// is random bits the index did not use (uniform but for its lowest
// log₂(gcd(n, 2³²)) bits): a picker that needs three indices gets them
// from one 64-bit draw.
func indexRest(x uint32, n int) (int, uint32) {
	p := uint64(x) * uint64(n)
	return int(p >> 32), uint32(p)
}

// threshold turns a probability into a bound for 32 random bits: x <
// threshold(p) has probability p.
func threshold(p float64) uint64 {
	switch {
	case !(p > 0):
		return 0
	case p >= 1:
		return 1 << 32
	}
	return uint64(p * (1 << 32))
}

// gamma draws from the Gamma(a, 1) distribution for a ≥ 1 (Marsaglia and
// Tsang, "A simple method for generating gamma variables", 2000).
func (g rng) gamma(a float64) float64 {
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := g.norm()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := g.float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// beta draws from the Beta(a, b) distribution for a, b ≥ 1, exactly, as
// the ratio of two gamma draws. (A normal approximation clamped to [0, 1]
// would be cheaper, but it sends a well-observed healthy host's draw to
// exactly 1 about one time in six: every such host then ties, and the
// choice among them, not the posteriors, decides the traffic.)
func (g rng) beta(a, b float64) float64 {
	x := g.gamma(a)
	return x / (x + g.gamma(b))
}
