package strategy

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// healthGroup is one HostSet's outlier ejection and slow start: the
// configuration, the members as of the last Update, and what the hosts
// share. Every host of the set points to it. Its lock is taken only to
// eject, to compare success rates once per interval and on Update, never to
// pick, and on the record path only with TryLock.
type healthGroup struct {
	eject *OutlierEjection // nil: no ejection
	slow  *SlowStart       // nil: no slow start
	clock func() int64

	panicking atomic.Bool
	ejections atomic.Uint64
	nextEval  atomic.Int64 // clock time of the next success-rate comparison
	fullUntil atomic.Int64 // before this time the ejection cap is reached

	mu    sync.Mutex
	hosts []*Host // the members, as of the last Update
	rates []hostRate
}

type hostRate struct {
	h    *Host
	rate float64
}

// hostHealth is a host's part of outlier ejection and slow start.
type hostHealth struct {
	// gate is 0 while the host is at its full share, which is all a pick
	// reads in the common case; otherwise the clock time until which it is
	// ejected or ramping.
	gate         atomic.Int64
	ejectedUntil atomic.Int64
	rampFrom     atomic.Int64 // clock time the ramp began
	consecutive  atomic.Int64 // failures in a row
	ejections    atomic.Uint64
	reason       atomic.Uint32 // index into reasons

	// Guarded by the group's lock.
	multiplier         int64
	lastReq, lastFails uint64 // Host.requests and failures at the last comparison
}

// newHealthGroup returns the group for c's options, or nil if c asks for
// neither ejection nor slow start.
func newHealthGroup(c *hostConfig) *healthGroup {
	if c.ejection == nil && c.slowStart == nil {
		return nil
	}
	return &healthGroup{eject: c.ejection, slow: c.slowStart, clock: c.clock}
}

// update makes hosts the group's members. A host new to a set that had
// members starts its slow start.
func (g *healthGroup) update(hosts []*Host) {
	if g == nil {
		return
	}
	now := g.clock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.slow != nil && len(g.hosts) > 0 {
		old := make(map[*Host]bool, len(g.hosts))
		for _, h := range g.hosts {
			old[h] = true
		}
		for _, h := range hosts {
			if !old[h] && h.hh.gate.Load() == 0 {
				h.hh.rampFrom.Store(now)
				h.hh.gate.Store(now + int64(g.slow.Window))
			}
		}
	}
	g.hosts = slices.Clone(hosts)
	g.fullUntil.Store(0)
	g.setPanic(now)
	if g.nextEval.Load() == 0 && g.eject != nil {
		g.nextEval.Store(now + int64(g.eject.Interval))
	}
}

// observed is the record path's part: count failures in a row, and compare
// success rates once an interval has passed.
func (g *healthGroup) observed(h *Host, now int64, failed bool) {
	e := g.eject
	if e == nil {
		return
	}
	hh := &h.hh
	if failed {
		if n := hh.consecutive.Add(1); e.ConsecutiveFailures > 0 && n >= int64(e.ConsecutiveFailures) &&
			now >= hh.ejectedUntil.Load() && now >= g.fullUntil.Load() && g.mu.TryLock() {
			if g.tryEject(h, now, EjectedConsecutiveFailures) {
				g.setPanic(now)
			}
			g.mu.Unlock()
		}
	} else if hh.consecutive.Load() != 0 {
		hh.consecutive.Store(0)
	}
	if now >= g.nextEval.Load() && g.mu.TryLock() {
		if now >= g.nextEval.Load() {
			g.evaluate(now)
		}
		g.mu.Unlock()
	}
}

// ejectedNow counts the ejected members. Called with g.mu held.
func (g *healthGroup) ejectedNow(now int64) (n int, firstBack int64) {
	firstBack = math.MaxInt64
	for _, h := range g.hosts {
		if u := h.hh.ejectedUntil.Load(); now < u {
			n++
			firstBack = min(firstBack, u)
		}
	}
	return n, firstBack
}

// tryEject ejects h unless it is ejected already or the cap is reached,
// and reports whether it did. Called with g.mu held.
func (g *healthGroup) tryEject(h *Host, now int64, why EjectionReason) bool {
	hh := &h.hh
	if now < hh.ejectedUntil.Load() || !slices.Contains(g.hosts, h) {
		return false
	}
	// Envoy's and gRPC's rule: eject while fewer than the cap's share are
	// ejected, so that one host may be however small the set.
	n, firstBack := g.ejectedNow(now)
	if n*100 >= g.eject.MaxEjectionPercent*len(g.hosts) {
		g.fullUntil.Store(firstBack)
		return false
	}
	// The multiplier stops one step past the cap, so that it cannot
	// overflow; from there the ejection lasts MaxEjectionTime anyway.
	if time.Duration(hh.multiplier)*g.eject.BaseEjectionTime <= g.eject.MaxEjectionTime {
		hh.multiplier++
	}
	d := min(time.Duration(hh.multiplier)*g.eject.BaseEjectionTime, g.eject.MaxEjectionTime)
	until := now + int64(d)
	hh.ejectedUntil.Store(until)
	hh.consecutive.Store(0)
	hh.ejections.Add(1)
	hh.reason.Store(uint32(slices.Index(reasons[:], why)))
	gate := until
	if g.slow != nil {
		hh.rampFrom.Store(until)
		gate += int64(g.slow.Window)
	}
	hh.gate.Store(gate)
	g.ejections.Add(1)
	return true
}

// setPanic decides whether the set is in panic: fewer than the threshold's
// share of its members healthy. Called with g.mu held.
func (g *healthGroup) setPanic(now int64) {
	if g.eject == nil || g.eject.PanicThreshold < 0 || len(g.hosts) == 0 {
		g.panicking.Store(false)
		return
	}
	n, _ := g.ejectedNow(now)
	g.panicking.Store((len(g.hosts)-n)*100 < g.eject.PanicThreshold*len(g.hosts))
}

// evaluate ends an interval: it compares the members' success rates over
// it, ejects those far below their peers (worst first, up to the cap), and
// lowers the ejection multiplier of every host not ejected. Called with
// g.mu held.
func (g *healthGroup) evaluate(now int64) {
	e := g.eject
	g.nextEval.Store(now + int64(e.Interval))
	rates := g.rates[:0]
	for _, h := range g.hosts {
		hh := &h.hh
		req, fails := h.requests.Load(), h.failures.Load()
		n, f := req-hh.lastReq, fails-hh.lastFails
		hh.lastReq, hh.lastFails = req, fails
		if now >= hh.ejectedUntil.Load() && hh.multiplier > 0 {
			hh.multiplier--
		}
		if n > 0 && n >= uint64(e.SuccessRateRequestVolume) && f <= n {
			rates = append(rates, hostRate{h: h, rate: 1 - float64(f)/float64(n)})
		}
	}
	g.rates = rates
	if e.SuccessRateStdevFactor > 0 && len(rates) >= e.SuccessRateMinimumHosts && len(rates) > 0 {
		var sum, sq float64
		for _, r := range rates {
			sum += r.rate
		}
		mean := sum / float64(len(rates))
		for _, r := range rates {
			sq += (r.rate - mean) * (r.rate - mean)
		}
		limit := mean - e.SuccessRateStdevFactor*math.Sqrt(sq/float64(len(rates)))
		slices.SortFunc(rates, func(a, b hostRate) int { return cmp.Compare(a.rate, b.rate) })
		for _, r := range rates {
			if r.rate >= limit {
				break
			}
			g.tryEject(r.h, now, EjectedSuccessRate)
		}
	}
	clear(g.rates[:cap(g.rates)]) // keep no hosts alive
	g.setPanic(now)
}

// admit decides whether a pick may keep h, a host not at its full share
// (gate is h's gate word, not 0): not while it is ejected (unless the set
// is in panic), with probability its share while it ramps.
func (g *healthGroup) admit(h *Host, gate int64) bool {
	now := h.clock()
	if now >= gate {
		h.hh.gate.CompareAndSwap(gate, 0)
		return true
	}
	if now < h.hh.ejectedUntil.Load() {
		return g.panicking.Load()
	}
	if g.slow == nil {
		return true
	}
	return rand.Float64() < g.slow.share(now-h.hh.rampFrom.Load())
}

// admit reports whether a pick may keep s (see healthGroup.admit).
func (s *Host) admit() bool {
	gate := s.hh.gate.Load()
	return gate == 0 || s.group.admit(s, gate)
}

// usable reports whether s may serve at all: it is not ejected, or the set
// is in panic. The scan that ends a pick takes any usable host.
func (s *Host) usable() bool {
	return s.hh.gate.Load() == 0 || s.clock() >= s.hh.ejectedUntil.Load() || s.group.panicking.Load()
}

// health returns s's HostHealth as of now.
func (s *Host) health(now int64) HostHealth {
	hh := &s.hh
	out := HostHealth{Ejections: hh.ejections.Load(), EjectionReason: reasons[hh.reason.Load()], Share: 1}
	g := s.group
	if g == nil {
		return out
	}
	if u := hh.ejectedUntil.Load(); now < u {
		out.Ejected, out.EjectedFor = true, time.Duration(u-now)
		if !g.panicking.Load() {
			out.Share = 0
		}
		return out
	}
	if gate := hh.gate.Load(); gate != 0 && now < gate && g.slow != nil {
		out.Share = g.slow.share(now - hh.rampFrom.Load())
	}
	return out
}

// usableOr returns first if that host is usable, or else a usable host
// from a random point on, even one tried already: a retry goes to a host
// that failed it before it goes to an ejected one. Only if none is usable
// does it return first.
func (v *hostView[T]) usableOr(first int) int {
	if v.hosts[first].usable() {
		return first
	}
	n := len(v.hosts)
	off := rand.IntN(n)
	for k := range n {
		if j := (off + k) % n; v.hosts[j].usable() {
			return j
		}
	}
	return first
}
