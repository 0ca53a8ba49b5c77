package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// distKind names a latency distribution.
type distKind uint8

const (
	exponential distKind = iota
	lognormal
	pareto
)

// dist is a service-time distribution, in nanoseconds.
type dist struct {
	kind  distKind
	mean  float64 // nanoseconds
	shape float64 // σ for lognormal, α for Pareto
}

// expDist is the exponential distribution: memoryless, a light tail (its
// p99 is 4.6 times its mean).
func expDist(mean time.Duration) dist { return dist{kind: exponential, mean: float64(mean)} }

// lognormalDist has the given mean and log-scale spread σ: a heavier tail
// than the exponential, the usual shape of real service times.
func lognormalDist(mean time.Duration, sigma float64) dist {
	return dist{kind: lognormal, mean: float64(mean), shape: sigma}
}

// paretoDist has the given mean and tail index α > 1; below α = 2 its
// variance is infinite: rare calls take a hundred times the mean.
func paretoDist(mean time.Duration, alpha float64) dist {
	return dist{kind: pareto, mean: float64(mean), shape: alpha}
}

func (d dist) sample(r *rand.Rand) float64 {
	switch d.kind {
	case lognormal:
		mu := math.Log(d.mean) - d.shape*d.shape/2
		return math.Exp(mu + d.shape*r.NormFloat64())
	case pareto:
		xm := d.mean * (d.shape - 1) / d.shape
		return xm / math.Pow(1-r.Float64(), 1/d.shape)
	}
	return d.mean * r.ExpFloat64()
}

func (d dist) String() string {
	ms := d.mean / 1e6
	switch d.kind {
	case lognormal:
		return fmt.Sprintf("lognormal(mean %gms, σ %g)", ms, d.shape)
	case pareto:
		return fmt.Sprintf("Pareto(mean %gms, α %g)", ms, d.shape)
	}
	return fmt.Sprintf("exponential(mean %gms)", ms)
}

// backendSpec is how a backend starts out.
type backendSpec struct {
	fail     float64       // probability that a call fails
	lat      dist          // service time
	capacity int           // calls served at once; the rest wait in line
	failFast time.Duration // if set, failures return after this, without service or queueing
	absent   bool          // not in the set until a join event
}

// backend is a simulated server: capacity calls in service at once, a
// first-in first-out queue for the rest.
type backend struct {
	id   int
	addr string
	backendSpec
	up      bool
	gen     int     // bumped when it leaves, so that stale completions are ignored
	serving []int32 // attempts in service
	queue   []int32 // attempts waiting
}

// expectedCompletion is what the oracle knows: the mean time a call
// arriving now would take, waiting included. With every slot busy, the
// call waits for the departures of everyone ahead of it, which come at
// capacity/mean per unit of time.
func (b *backend) expectedCompletion() float64 {
	wait := 0.0
	if len(b.serving) >= b.capacity {
		wait = float64(len(b.queue)+1) / float64(b.capacity) * b.lat.mean
	}
	return wait + b.lat.mean
}
