package strategy

import (
	"math"
	"math/rand/v2"
	"time"
)

// Defaults of WeightedRoundRobin, gRFC A58's (gRPC's weighted_round_robin).
const (
	// DefaultBlackoutPeriod is how long a host must have reported its load
	// before its weight is used.
	DefaultBlackoutPeriod = 10 * time.Second
	// DefaultWeightExpirationPeriod is how long a host's last report is
	// used; after that it counts as not reporting.
	DefaultWeightExpirationPeriod = 3 * time.Minute
	// DefaultWeightUpdatePeriod is how often the weights are recomputed.
	DefaultWeightUpdatePeriod = time.Second
	// MinWeightUpdatePeriod is the shortest update period: shorter ones are
	// raised to it, as A58 does.
	MinWeightUpdatePeriod = 100 * time.Millisecond
	// DefaultErrorUtilizationPenalty is how much an error rate (EPS/RPS)
	// adds to the utilization a weight divides by.
	DefaultErrorUtilizationPenalty = 1.0
	// WeightMaxRatio caps every weight at this many times the mean weight,
	// and WeightMinRatio raises every weight to at least this fraction of
	// it, as gRPC's static stride scheduler does, so that one freak report
	// (a near-zero utilization) cannot take all the traffic or starve a
	// host of the requests whose reports would correct it.
	WeightMaxRatio = 10.0
	WeightMinRatio = 0.01
)

// WeightedRoundRobin weights hosts by the load they report (Host.ReportLoad,
// fed by package orca from the endpoint-load-metrics header or trailer) the
// way gRPC's weighted_round_robin does (gRFC A58): a host's weight is
//
//	RPS / (utilization + EPS/RPS × ErrorUtilizationPenalty)
//
// where utilization is the application utilization if reported, else the
// CPU utilization; so of two hosts serving the same RPS, the one at half
// the utilization gets twice the traffic, and traffic moves until the
// utilizations meet. A host's weight is used only after it has reported
// for BlackoutPeriod and only while its last report is younger than
// WeightExpirationPeriod; hosts without a usable weight get the mean of
// the others', and when fewer than two hosts have one every host gets the
// same share. Weights are capped at WeightMaxRatio times the mean and
// raised to WeightMinRatio times it.
//
// The weights are recomputed every WeightUpdatePeriod into an alias table
// (O(hosts)), which the pick samples in constant time: a pick is a random
// number and two loads, takes no lock and allocates nothing. The table is
// double-buffered and rebuilt by the first pick that finds it a period old
// (one in sixteen picks looks at the clock), while every other pick goes
// on with the current one; the package starts no goroutines. Where A58
// visits hosts in a deterministic stride schedule, this pick draws at
// random with the same expected shares.
//
// Durations and the penalty left zero take the defaults above; a negative
// value turns the feature off (no blackout, no expiry, no error penalty).
type WeightedRoundRobin struct {
	// BlackoutPeriod: a host's weight is used only once it has reported
	// for this long without a gap of WeightExpirationPeriod, so that a
	// host's first reports (a cold, idle process) do not draw a flood.
	BlackoutPeriod time.Duration
	// WeightExpirationPeriod: a report older than this is no longer used,
	// and the blackout applies again when reports resume.
	WeightExpirationPeriod time.Duration
	// WeightUpdatePeriod is how often the weights are recomputed; at
	// least MinWeightUpdatePeriod.
	WeightUpdatePeriod time.Duration
	// ErrorUtilizationPenalty scales the error rate added to the
	// utilization.
	ErrorUtilizationPenalty float64
	// Rand, if set, is the source of the picks' random numbers, for
	// repeatable simulations; it must be safe for concurrent use unless
	// only one goroutine picks.
	Rand rand.Source
}

// Name is "wrr-load".
func (WeightedRoundRobin) Name() string { return "wrr-load" }

// Validate returns an error wrapping ErrInvalidArgument for a NaN or
// infinite penalty.
func (s WeightedRoundRobin) Validate() error {
	if math.IsNaN(s.ErrorUtilizationPenalty) || math.IsInf(s.ErrorUtilizationPenalty, 0) {
		return invalid("weighted round-robin: error utilization penalty %v", s.ErrorUtilizationPenalty)
	}
	return nil
}

// orDefault is d if set, def if zero and 0 (off) if negative.
func orDefault(d, def time.Duration) int64 {
	switch {
	case d == 0:
		return int64(def)
	case d < 0:
		return 0
	}
	return int64(d)
}

// NewPicker implements Strategy.
func (s WeightedRoundRobin) NewPicker(hosts []*Host) Picker {
	if p := trivial(hosts); p != nil {
		return p
	}
	p := &wrrPicker{
		hosts:    hosts,
		clock:    hosts[0].clock,
		rng:      rngOf(s.Rand),
		blackout: orDefault(s.BlackoutPeriod, DefaultBlackoutPeriod),
		expire:   orDefault(s.WeightExpirationPeriod, DefaultWeightExpirationPeriod),
		penalty:  s.ErrorUtilizationPenalty,
		w:        make([]float64, len(hosts)),
		scratch:  newAliasScratch(len(hosts)),
	}
	switch {
	case p.penalty == 0:
		p.penalty = DefaultErrorUtilizationPenalty
	case p.penalty < 0:
		p.penalty = 0
	}
	every := max(orDefault(s.WeightUpdatePeriod, DefaultWeightUpdatePeriod), int64(MinWeightUpdatePeriod))
	startAliasMemo(&p.memo, len(hosts), every, p.clock(), p.fill)
	return p
}

type wrrPicker struct {
	memo     memo[aliasTable]
	hosts    []*Host
	clock    func() int64
	rng      rng
	blackout int64
	expire   int64
	penalty  float64
	w        []float64 // scratch of fill, touched only by the memo's holder
	scratch  *aliasScratch
}

func (p *wrrPicker) Pick() int {
	r := p.rng.uint64()
	if (r^r>>32)&15 == 0 {
		if now := p.clock(); p.memo.claim(now) {
			p.fill(p.memo.spare, now)
			p.memo.publish(now)
		}
	}
	return p.memo.cur.Load().pick(r)
}

// fill writes the alias table of the hosts' weights as of now.
func (p *wrrPicker) fill(t *aliasTable, now int64) {
	var sum float64
	n := 0
	for i, h := range p.hosts {
		w := h.loadWeight(now, p.blackout, p.expire, p.penalty)
		if !(w > 0) || math.IsInf(w, 0) {
			w = 0
		}
		p.w[i] = w
		if w > 0 {
			sum += w
			n++
		}
	}
	if n < 2 {
		// Too little to go on: every host alike, as A58's round_robin
		// fallback.
		for i := range p.w {
			p.w[i] = 1
		}
	} else {
		mean := sum / float64(n)
		lo, hi := mean*WeightMinRatio, mean*WeightMaxRatio
		for i, w := range p.w {
			if w == 0 {
				w = mean
			}
			p.w[i] = min(max(w, lo), hi)
		}
	}
	p.scratch.build(t, p.w)
}
