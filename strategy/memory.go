package strategy

import (
	"math"
	"sync/atomic"
)

// DefaultMaxObservations is how many of its own outcomes a host's recent
// record rests on by default (WithMaxObservations): the record that
// PeakEWMA's failure penalty and the EpsilonGreedy, Softmax and Thompson
// rankings read. Fifty outcomes tell a host that fails half its calls from
// one that never fails many times over, and are few enough that a host
// which turns bad, or recovers, changes its record within fifty calls.
const DefaultMaxObservations = 50

// memory is a host's recent record: its mean score and the number of
// observations behind it, which forget by how often the host is seen
// rather than by the clock alone.
//
// Each observation weighs e^(-1/k) of the one after it when the host is
// seen at its usual rate ν (its observations per unit of time over the long
// window): the record rests on about its last k outcomes, whether the host
// is called a thousand times a second or once a minute. Between
// observations the record fades at the same pace, e^(-ν·dt/k): a host
// seen often and then shut out (a failing host) loses its record after
// about k of the visits it would have had, so it is tried again within
// a fraction of a second and, if it has recovered, wins its traffic back;
// a host seen rarely keeps its record as long as it takes to be seen k
// times, so a rarely-visited bad host is not forgotten between two of its
// visits. Neither is ever slower than the long window: the fading rate is
// at least 1/window, and since ν is the long window's, a host shut out for
// good sees its ν, and so its fading, slow down over a window.
type memory struct {
	// What pickers read, first, so that they share a cache line with the
	// peak latency just before them in Host.
	recent atomic.Uint64 // float64 bits: mean score of the record
	rcount atomic.Uint64 // float64 bits: its weight at the last observation
	fade   atomic.Uint64 // float64 bits: fading rate of the record, per nanosecond

	k         float64 // observations the record rests on
	perWindow float64 // 1/long window, per nanosecond
	born      int64   // guarded by Host.mu: clock value of the first observation
	sumRS     float64 // guarded by Host.mu: decayed sum of scores
	sumRW     float64 // guarded by Host.mu: decayed number of observations
}

func (m *memory) init(k, window float64) {
	if k <= 0 {
		k = DefaultMaxObservations
	}
	m.k, m.perWindow = k, 1/window
	m.recent.Store(math.Float64bits(1))
	m.fade.Store(math.Float64bits(m.perWindow))
}

// observe adds an outcome at now to the record; last is the time of the
// previous observation (if not first) and seen the long window's decayed
// number of observations, this one included. The caller holds Host.mu.
func (m *memory) observe(now, last int64, first bool, score, seen float64) {
	d := 1.0
	if first {
		m.born = now
	} else if now > last {
		d = expDecay(float64(now-last) * math.Float64frombits(m.fade.Load()))
	}
	m.sumRS = m.sumRS*d + score
	m.sumRW = m.sumRW*d + 1
	m.recent.Store(math.Float64bits(m.sumRS / m.sumRW))
	m.rcount.Store(math.Float64bits(m.sumRW))
	// ν is seen over the span the long window's sums cover: the window,
	// or less while the host is younger than a few windows.
	fade := m.perWindow
	if age := float64(now - m.born); age > 0 {
		x := age * m.perWindow
		span := x * (1 - x/2 + x*x/6) // 1 - e^-x, in windows
		if x >= 1.0/64 {
			span = 1 - expDecay(x)
		}
		fade = max(fade, seen*m.perWindow/span/m.k)
	}
	m.fade.Store(math.Float64bits(fade))
}

// decayed is the record's fading factor over the dt nanoseconds since the
// last observation.
func (m *memory) decayed(dt int64) float64 {
	if dt <= 0 {
		return 1
	}
	return expDecay(float64(dt) * math.Float64frombits(m.fade.Load()))
}

// recentScore returns the mean score of the host's recent record and the
// weight of the observations behind it, as of now. A backend never
// observed has score 1 and no observations. The weight fades between
// observations (see memory), so a strategy can tell a fresh verdict from
// an old one.
func (s *Host) recentScore(now int64) (score, observations float64) {
	score = math.Float64frombits(s.recent.Load())
	observations = math.Float64frombits(s.rcount.Load()) * s.memory.decayed(now-s.last.Load())
	return score, observations
}
