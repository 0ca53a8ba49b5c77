package strategy

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// PeakEWMA is lbkit's recommended strategy, and the load balancer's
// default. It draws Choices distinct hosts at random (default
// DefaultChoices) and picks the cheapest, where a host's cost is
//
//	peak latency × (in-flight + 1) / weight × exp(penalty × recent failure rate)
//
// The first factors are the cost of Finagle's and linkerd's peak EWMA: the
// peak-sensitive latency average turns against a host from its first slow
// response, and the in-flight count spreads concurrent requests before any
// of them has finished. The last factor is lbkit's: the failure rate of the
// host's recent record (about its last WithMaxObservations outcomes), with
// one pseudo-observation of success added, makes a failing host expensive however fast it fails,
// where a latency-only balancer would favour it (FailurePenalty, default
// DefaultFailurePenalty; Classic turns it off).
//
// A host the costs shut out is not lost: with no new observations its
// latency average decays towards zero and its failure record fades back
// towards blameless as it misses the visits it would have had, so it is
// tried again, and a recovered host wins its traffic back within a second
// or so at a few hundred calls a second; a host seen rarely keeps its
// record for longer (see WithMaxObservations). A host without
// observations is assumed as fast as the fastest candidate it is compared
// with (or InitialLatency), so a new host gets traffic at once, and its
// in-flight count keeps it from being flooded before its first answers
// arrive.
//
// The pick reads the statistics of a few hosts and never scans the set, so
// it costs the same for ten hosts or ten thousand, and it reads no clock
// (the hosts' observation times stand in for it).
type PeakEWMA struct {
	// Choices is how many distinct hosts a pick compares, 1 to 8; 0 means
	// DefaultChoices. More choices shut bad hosts out more surely at the
	// price of reading more statistics per pick and of herding: concurrent
	// picks agree more on the cheapest.
	Choices int
	// FailurePenalty is how strongly failing hosts are avoided; 0 means
	// DefaultFailurePenalty. Negative, infinite or NaN is invalid.
	FailurePenalty float64
	// Classic turns the failure penalty off: the peak EWMA of Finagle and
	// linkerd, which sees only latency and load.
	Classic bool
	// Exploration is the share of picks, in [0,1), that go to a host chosen
	// uniformly at random. It is zero by default because PeakEWMA explores
	// without it (a host it shuts out fades back into favour); the
	// simulator found that random exploration only added failed calls.
	Exploration float64
	// InitialLatency is the latency assumed for a host before its first
	// observation; 0 assumes it as fast as the fastest candidate it is
	// compared with. A high value keeps new hosts out until the others are
	// busy. Negative is invalid.
	InitialLatency time.Duration
	// Rand, if set, is the source of the picks' random numbers (see
	// LeastInFlight.Rand).
	Rand rand.Source
}

// Validate returns an error wrapping ErrInvalidArgument for a field out of
// range.
func (s PeakEWMA) Validate() error {
	switch {
	case s.Choices < 0 || s.Choices > maxDistinctChoices:
		return invalid("peak-ewma: %d choices outside [1,%d]", s.Choices, maxDistinctChoices)
	case s.FailurePenalty < 0 || math.IsInf(s.FailurePenalty, 0) || math.IsNaN(s.FailurePenalty):
		return invalid("peak-ewma: failure penalty %v is not a finite number ≥ 0", s.FailurePenalty)
	case !(s.Exploration >= 0 && s.Exploration < 1):
		return invalid("peak-ewma: exploration share %v outside [0,1)", s.Exploration)
	case s.InitialLatency < 0:
		return invalid("peak-ewma: negative initial latency %v", s.InitialLatency)
	}
	return nil
}

func (s PeakEWMA) choices() int {
	if s.Choices == 0 {
		return DefaultChoices
	}
	return s.Choices
}

func (s PeakEWMA) penalty() float64 {
	switch {
	case s.Classic:
		return 0
	case s.FailurePenalty == 0:
		return DefaultFailurePenalty
	}
	return s.FailurePenalty
}

// Name is "peak-ewma", qualified when the failure penalty is off (classic)
// or the number of choices is not the default.
func (s PeakEWMA) Name() string {
	var q []string
	if s.Classic {
		q = append(q, "classic")
	}
	if k := s.choices(); k != DefaultChoices {
		q = append(q, "k="+strconv.Itoa(k))
	}
	if len(q) == 0 {
		return "peak-ewma"
	}
	return "peak-ewma(" + strings.Join(q, ",") + ")"
}

// NewPicker implements Strategy.
func (s PeakEWMA) NewPicker(hosts []*Host) Picker {
	if p := trivial(hosts); p != nil {
		return p
	}
	return &peakPicker{
		hosts:    hosts,
		rng:      rngOf(s.Rand),
		penalty:  s.penalty(),
		explore:  threshold(s.Exploration),
		initial:  float64(s.InitialLatency),
		k:        max(1, min(s.choices(), len(hosts))),
		weighted: !equalWeights(hosts),
	}
}

type peakPicker struct {
	hosts    []*Host
	rng      rng
	penalty  float64
	explore  uint64  // threshold on 32 random bits
	initial  float64 // nanoseconds; 0: as the other candidates
	k        int     // choices per pick, 1..maxDistinctChoices
	weighted bool    // the hosts' weights differ
}

func (p *peakPicker) Pick() int {
	n := len(p.hosts)
	r := p.rng.uint64()
	if p.explore > 0 {
		if uint64(uint32(r)) < p.explore {
			return index(uint32(r>>32), n)
		}
		r = p.rng.uint64()
	}
	// Time is measured by the hosts' own observations rather than by
	// reading the clock, which would cost more than the rest of the pick.
	// The ratio of two latency terms depends only on the difference of
	// their last observation times, so it is exact; only the fading of the
	// failure records is understated, and only while none of the
	// candidates has been observed lately, that is while there is no
	// traffic to speak of.
	switch p.k {
	case 1:
		return index(uint32(r), n)
	case 2:
		a, b := drawTwo(r, n)
		ha, hb := p.hosts[a], p.hosts[b]
		la, lb := ha.last.Load(), hb.last.Load()
		now := max(la, lb)
		xa, fa := p.weigh(ha, now-la)
		xb, fb := p.weigh(hb, now-lb)
		if xa < 0 || xb < 0 {
			idx, lat, fac := [...]int{a, b}, [...]float64{xa, xb}, [...]float64{fa, fb}
			return p.settle(idx[:], lat[:], fac[:])
		}
		if (xb+1)*fb < (xa+1)*fa {
			return b
		}
		return a
	case 3:
		a, b, c := drawThree(r, n)
		ha, hb, hc := p.hosts[a], p.hosts[b], p.hosts[c]
		la, lb, lc := ha.last.Load(), hb.last.Load(), hc.last.Load()
		now := max(la, lb, lc)
		xa, fa := p.weigh(ha, now-la)
		xb, fb := p.weigh(hb, now-lb)
		xc, fc := p.weigh(hc, now-lc)
		if xa < 0 || xb < 0 || xc < 0 {
			idx, lat, fac := [...]int{a, b, c}, [...]float64{xa, xb, xc}, [...]float64{fa, fb, fc}
			return p.settle(idx[:], lat[:], fac[:])
		}
		best, cost := a, (xa+1)*fa
		if cb := (xb + 1) * fb; cb < cost {
			best, cost = b, cb
		}
		if (xc+1)*fc < cost {
			best = c
		}
		return best
	}
	var idx [maxDistinctChoices]int
	var lat, fac [maxDistinctChoices]float64
	idx[0] = index(uint32(r), n)
	d := newDrawer(p.rng, n, idx[0], r>>32, 1)
	var now int64
	for j := range p.k {
		if j > 0 {
			idx[j] = d.next()
		}
		now = max(now, p.hosts[idx[j]].last.Load())
	}
	for j, i := range idx[:p.k] {
		h := p.hosts[i]
		lat[j], fac[j] = p.weigh(h, now-h.last.Load())
	}
	return p.settle(idx[:p.k], lat[:p.k], fac[:p.k])
}

// weigh returns host h's peak latency, decayed over dt, and the factor its
// cost is that latency (plus a nanosecond, which keeps the factor working
// when latencies are zero, as with a stopped clock) times: its load and
// failure penalty. The latency is -1 if h has never been observed.
func (p *peakPicker) weigh(h *Host, dt int64) (lat, factor float64) {
	factor = float64(h.InFlight() + 1)
	if p.weighted {
		factor /= float64(h.weight.Load())
	}
	count := math.Float64frombits(h.rcount.Load())
	if count == 0 {
		return -1, factor
	}
	fade := math.Float64frombits(h.fade.Load())
	if score := math.Float64frombits(h.recent.Load()); score < 1 && p.penalty > 0 {
		// One pseudo-observation of success: a single failure of a host
		// seldom called does not condemn it, and a host's record fades
		// back to blameless as it misses the visits it would have had
		// (see memory).
		if dt > 0 {
			count *= expDecay(float64(dt) * fade)
		}
		factor *= fastExp(p.penalty * (1 - score) * count / (count + 1))
	}
	// The latency fades with the short window, or more slowly for a host
	// seen so rarely that its record fades more slowly than that: else a
	// bad host that a client of many backends visits now and then would
	// look cheap, and be tried again, long before its record says so.
	d := 1.0
	if dt > 0 {
		d = expDecay(float64(dt) * min(h.perNs, fade))
	}
	return math.Float64frombits(h.peak.Load()) * d, factor
}

// settle returns the cheapest of the candidates idx, given their latencies
// and factors from weigh. A host never observed (latency -1) is assumed as
// fast as the fastest candidate that has been, or InitialLatency if
// set, and wins ties, so that a new host gets traffic at once and is judged
// by its load until its first answers arrive.
func (p *peakPicker) settle(idx []int, lat, fac []float64) int {
	assumed := p.initial
	if assumed == 0 {
		assumed = math.Inf(1)
		for _, x := range lat {
			if x >= 0 && x < assumed {
				assumed = x
			}
		}
		if math.IsInf(assumed, 1) {
			assumed = 0 // none observed: load alone decides
		}
	}
	best, bestCost, bestKnown := 0, math.Inf(1), true
	for j := range idx {
		known := lat[j] >= 0
		x := lat[j]
		if !known {
			x = assumed
		}
		cost := (x + 1) * fac[j]
		if cost < bestCost || cost == bestCost && !known && bestKnown {
			best, bestCost, bestKnown = j, cost, known
		}
	}
	return idx[best]
}
