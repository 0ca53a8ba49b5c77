package strategy

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
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
	// as gRPC's static stride scheduler does, so that one freak report (a
	// near-zero utilization) cannot take all the traffic.
	WeightMaxRatio = 10.0
	// WeightMinRatio raises every weight to at least this fraction of the
	// mean, as gRPC's static stride scheduler does too, so that no host is
	// starved of the requests whose reports would correct its weight.
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
// The weights come from the hosts' reports: give the balancer
// loadbalancer.WithHostWatcher(reports) and its factory package orca's
// client hooks (see package orca). Without reports it is round-robin.
//
// The weights are recomputed every WeightUpdatePeriod into a schedule: a
// table of 64 slots per host (1,024 to 65,536), host i holding its share
// of them to within one, built in O(hosts + slots) without sorting. Picks
// walk the table in a Weyl sequence (an odd stride near size/φ), so each
// host's visits are evenly spread over a cycle, and over every cycle each
// host gets its share exactly: deterministic, like A58's stride
// scheduler, rather than random. A pick is an atomic increment and two
// loads, takes no lock and allocates nothing. The recomputation is off the
// request path, as A58's timer is: the first pick that finds the schedule a
// period old (one pick in sixteen looks at the clock) starts it on a
// goroutine of its own, which publishes a new schedule and ends, while
// every pick goes on with the current one. It is the package's only
// goroutine; at most one per picker runs at a time, for tens of
// microseconds at 1,000 hosts.
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
	// SyncRebuild rebuilds the schedule on the pick that finds it stale
	// instead of on a goroutine: deterministic under a simulated clock
	// (examples/simulate), at that one pick's expense.
	SyncRebuild bool
	// Rand, if set, draws the schedule's starting point (by default the
	// runtime's generator does), for repeatable simulations.
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
	size := wrrTableSize(len(hosts))
	p := &wrrPicker{
		hosts:    hosts,
		clock:    hosts[0].clock,
		blackout: orDefault(s.BlackoutPeriod, DefaultBlackoutPeriod),
		expire:   orDefault(s.WeightExpirationPeriod, DefaultWeightExpirationPeriod),
		penalty:  s.ErrorUtilizationPenalty,
		every:    max(orDefault(s.WeightUpdatePeriod, DefaultWeightUpdatePeriod), int64(MinWeightUpdatePeriod)),
		w:        make([]float64, len(hosts)),
		size:     size,
		mask:     uint32(size - 1),
		// An odd stride near size/φ visits the slots in a Weyl sequence:
		// every host's block of slots is visited at evenly spread times.
		stride: uint32(float64(size)*0.6180339887498949) | 1,
	}
	p.rebuildFn = p.rebuild
	p.sync = s.SyncRebuild
	p.next.Store(uint32(rngOf(s.Rand).uint64()))
	switch {
	case p.penalty == 0:
		p.penalty = DefaultErrorUtilizationPenalty
	case p.penalty < 0:
		p.penalty = 0
	}
	p.busy.Store(true)
	p.rebuild()
	return p
}

// wrrTableSize is the number of slots of the schedule over n hosts: 64 per
// host, a power of two between 1,024 and 65,536, so that a host's share is
// exact to within one slot in a cycle.
func wrrTableSize(n int) int {
	size := 1024
	for size < 64*n && size < 1<<16 {
		size <<= 1
	}
	return size
}

type wrrPicker struct {
	next      atomic.Uint32
	_         [60]byte // keep the hot counter on its own cache line
	table     atomic.Pointer[[]int32]
	until     atomic.Int64 // clock after which the table is stale
	busy      atomic.Bool  // a rebuild is under way
	hosts     []*Host
	clock     func() int64
	blackout  int64
	expire    int64
	every     int64
	penalty   float64
	size      int
	mask      uint32
	stride    uint32
	sync      bool
	w         []float64 // scratch of rebuild, touched only by the holder of busy
	rebuildFn func()    // p.rebuild, made once so that starting it allocates nothing
}

// Pick takes the next slot of the schedule. One pick in sixteen looks at
// the clock, and the one that finds the schedule a period old starts its
// rebuild on a goroutine of its own, so that no pick waits for it.
func (p *wrrPicker) Pick() int {
	c := p.next.Add(1)
	if c&15 == 0 {
		if now := p.clock(); now >= p.until.Load() && p.busy.CompareAndSwap(false, true) {
			if p.sync {
				p.rebuild()
			} else {
				go p.rebuildFn()
			}
		}
	}
	return int((*p.table.Load())[(c*p.stride)&p.mask])
}

// rebuild computes the weights as of now and publishes a new schedule: the
// holder of busy calls it, and it releases busy. The schedule is a new,
// immutable slice: picks that still hold the old one finish with it.
func (p *wrrPicker) rebuild() {
	now := p.clock()
	t := make([]int32, p.size)
	p.fill(t, now)
	p.table.Store(&t)
	p.until.Store(now + p.every)
	p.busy.Store(false)
}

// fill writes the schedule of the hosts' weights as of now: slot k holds
// the host of the k-th of len(t) evenly spaced points of the weights'
// cumulative distribution, so that host i has w[i]/sum(w) of the slots, to
// within one.
func (p *wrrPicker) fill(t []int32, now int64) {
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
		// Too little to go on: every host alike, as A58 falls back to
		// round_robin.
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
	var total float64
	for _, w := range p.w {
		total += w
	}
	// Host i takes the slots up to its cumulative weight's place in the
	// table, rounded: no float work per slot.
	scale := float64(len(t)) / total
	k, acc := 0, 0.0
	for i, w := range p.w {
		acc += w
		end := min(int(acc*scale+0.5), len(t))
		if i == len(p.w)-1 {
			end = len(t)
		}
		for ; k < end; k++ {
			t[k] = int32(i)
		}
	}
}
