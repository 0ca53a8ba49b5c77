package strategy

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultWindow is the time constant of the decay applied to scores and
// latencies: an observation made DefaultWindow ago weighs 1/e of a new one.
// It matches pooly's one-minute decay duration.
const DefaultWindow = time.Minute

// DefaultShortWindow is the time constant of the short-memory statistics:
// the peak-sensitive latency average and the recent score, which
// latency-aware strategies read. It is short so that a backend that turns
// bad loses its traffic within a second or two and one that recovers
// regains it within seconds; the long window (DefaultWindow) serves the
// bandit strategies, which want a steadier estimate.
const DefaultShortWindow = 5 * time.Second

// Clock returns the current time in nanoseconds on a monotonic scale. Only
// differences between its values matter. Simulations pass a simulated clock;
// everything else uses MonotonicClock.
type Clock func() int64

var epoch = time.Now()

// MonotonicClock is the default Clock: nanoseconds since the process started
// using this package, read from the monotonic clock.
func MonotonicClock() int64 { return int64(time.Since(epoch)) }

// Epoch is the moment MonotonicClock counts from. Another package's clock
// readings convert to MonotonicClock's without reading the clock again:
// add myEpoch.Sub(strategy.Epoch()).
func Epoch() time.Time { return epoch }

// Start is the moment a request began, as returned by Stats.Begin.
type Start int64

// StatsOption configures a Stats.
type StatsOption func(*Stats)

// WithWindow sets the decay time constant of scores and latencies. A window
// of zero or less keeps DefaultWindow.
func WithWindow(d time.Duration) StatsOption {
	return func(s *Stats) {
		if d > 0 {
			s.window = float64(d)
		}
	}
}

// WithShortWindow sets the time constant of the short-memory statistics
// (PeakLatency, Recent). A window of zero or less keeps DefaultShortWindow.
func WithShortWindow(d time.Duration) StatsOption {
	return func(s *Stats) {
		if d > 0 {
			s.short = float64(d)
		}
	}
}

// WithClock sets the clock used by Begin and Done. A nil clock keeps
// MonotonicClock.
func WithClock(c Clock) StatsOption {
	return func(s *Stats) {
		if c != nil {
			s.clock, s.ownClock = c, true
		}
	}
}

// Stats is the live record of one backend. All methods are safe for
// concurrent use and allocate nothing. Create it with NewStats.
type Stats struct {
	address  string
	clock    Clock
	ownClock bool    // WithClock replaced MonotonicClock
	window   float64 // decay time constant, in nanoseconds

	inflight atomic.Int64
	weight   atomic.Int64
	started  atomic.Uint64
	requests atomic.Uint64
	failures atomic.Uint64

	// What pickers read, published after each observation.
	score   atomic.Uint64 // float64 bits: decayed mean score in [0,1]
	count   atomic.Uint64 // float64 bits: decayed number of observations at last
	latency atomic.Uint64 // float64 bits: decayed mean latency in nanoseconds
	last    atomic.Int64  // clock value of the last observation

	mu   sync.Mutex // this backend's own; guards the sums below
	sumS float64    // decayed sum of scores
	sumL float64    // decayed sum of latencies
	sumW float64    // decayed number of observations

	// The short-memory statistics, decayed with time constant short.
	short  float64       // nanoseconds
	perNs  float64       // 1/short, so that pickers multiply instead of divide
	peak   atomic.Uint64 // float64 bits: peak-sensitive latency EWMA, ns
	recent atomic.Uint64 // float64 bits: decayed mean score
	rcount atomic.Uint64 // float64 bits: decayed number of observations at last
	sumRS  float64       // guarded by mu: decayed sum of scores
	sumRW  float64       // guarded by mu: decayed number of observations
}

// NewStats returns the statistics of a backend at address with the given
// weight (values below 1 are stored as 1). A new backend has score 1, no
// latency and no observations.
func NewStats(address string, weight int, opts ...StatsOption) *Stats {
	s := &Stats{address: address, clock: MonotonicClock, window: float64(DefaultWindow), short: float64(DefaultShortWindow)}
	for _, o := range opts {
		o(s)
	}
	s.SetWeight(weight)
	s.perNs = 1 / s.short
	s.score.Store(math.Float64bits(1))
	s.recent.Store(math.Float64bits(1))
	return s
}

// Address returns the backend's address.
func (s *Stats) Address() string { return s.address }

// Now reads the Stats' clock.
func (s *Stats) Now() int64 { return s.clock() }

// Window returns the decay time constant.
func (s *Stats) Window() time.Duration { return time.Duration(s.window) }

// Weight returns the backend's weight, at least 1.
func (s *Stats) Weight() int { return int(s.weight.Load()) }

// SetWeight changes the backend's weight; values below 1 are stored as 1.
// Weighted pickers built before the change keep the old weight; the load
// balancer rebuilds its picker when a weight changes.
func (s *Stats) SetWeight(w int) {
	if w < 1 {
		w = 1
	}
	s.weight.Store(int64(w))
}

// InFlight returns the number of requests begun and not yet done.
func (s *Stats) InFlight() int64 { return s.inflight.Load() }

// Started returns the number of requests begun so far.
func (s *Stats) Started() uint64 { return s.started.Load() }

// Requests returns the number of requests done (not abandoned) so far.
func (s *Stats) Requests() uint64 { return s.requests.Load() }

// Failures returns the number of requests done with failed set.
func (s *Stats) Failures() uint64 { return s.failures.Load() }

// Score returns the time-decayed mean of the scores observed, in [0,1]. A
// backend never observed scores 1, so that it is tried.
func (s *Stats) Score() float64 { return math.Float64frombits(s.score.Load()) }

// Latency returns the time-decayed mean latency, or 0 before the first
// observation.
func (s *Stats) Latency() time.Duration {
	return time.Duration(math.Float64frombits(s.latency.Load()))
}

// Observations returns the time-decayed number of observations as of now: a
// backend that has not been called for a few windows counts as nearly
// unknown again, which is what lets bandit strategies re-explore it.
func (s *Stats) Observations(now int64) float64 {
	c := math.Float64frombits(s.count.Load())
	if c == 0 {
		return 0
	}
	if dt := now - s.last.Load(); dt > 0 {
		c *= math.Exp(-float64(dt) / s.window)
	}
	return c
}

// LastObserved returns the clock value of the latest observation, or 0.
func (s *Stats) LastObserved() int64 { return s.last.Load() }

// Begin records the start of a request: one more in flight. Pass the result
// to Done or Abandon exactly once.
func (s *Stats) Begin() Start {
	return s.BeginAt(s.clock())
}

// BeginAt is Begin for a caller that has already read the clock (now): a
// retry loop, for example, whose previous attempt ended at now.
func (s *Stats) BeginAt(now int64) Start {
	s.started.Add(1)
	s.inflight.Add(1)
	return Start(now)
}

// MonotonicClockUsed reports whether the Stats reads MonotonicClock (that
// is, WithClock did not replace it), so that readings of MonotonicClock taken
// elsewhere may be passed to BeginAt and End.
func (s *Stats) MonotonicClockUsed() bool { return !s.ownClock }

// Done records the end of a request begun with Begin: one fewer in flight,
// and an observation of its latency and score (1 for full success, 0 for
// failure; values outside [0,1] are clamped). failed counts the request in
// Failures.
func (s *Stats) Done(start Start, failed bool, score float64) {
	s.End(start, s.clock(), failed, score)
}

// End is Done for a caller that has already read the clock (now), for
// example to score the call by its latency.
func (s *Stats) End(start Start, now int64, failed bool, score float64) {
	s.inflight.Add(-1)
	s.Observe(now, time.Duration(now-int64(start)), failed, score)
}

// Abandon records the end of a request that says nothing about the backend,
// such as one the caller cancelled: one fewer in flight and no observation.
func (s *Stats) Abandon(Start) { s.inflight.Add(-1) }

// Observe records an outcome at time now without touching the in-flight
// count. Simulations and connection pools that time requests themselves use
// it directly.
func (s *Stats) Observe(now int64, latency time.Duration, failed bool, score float64) {
	if failed {
		s.failures.Add(1)
	}
	s.requests.Add(1)
	switch {
	case score < 0 || score != score: // negative or NaN
		score = 0
	case score > 1:
		score = 1
	}
	if latency < 0 {
		latency = 0
	}
	lat := float64(latency)
	s.mu.Lock()
	last := s.last.Load()
	first := s.sumW == 0
	d, ds := 1.0, 1.0
	if !first && now > last {
		d = expDecay(float64(now-last) / s.window)
		ds = s.decayOver(now - last)
	}
	s.sumS = s.sumS*d + score
	s.sumL = s.sumL*d + lat
	s.sumW = s.sumW*d + 1
	s.score.Store(math.Float64bits(s.sumS / s.sumW))
	s.latency.Store(math.Float64bits(s.sumL / s.sumW))
	s.count.Store(math.Float64bits(s.sumW))

	s.sumRS = s.sumRS*ds + score
	s.sumRW = s.sumRW*ds + 1
	s.recent.Store(math.Float64bits(s.sumRS / s.sumRW))
	s.rcount.Store(math.Float64bits(s.sumRW))
	// Peak sensitivity (Finagle's and linkerd's peak EWMA): a latency above
	// the average replaces it at once, so a backend that slows down is
	// avoided from its first slow response; lower latencies pull the
	// average down only as fast as the short window allows.
	if peak := math.Float64frombits(s.peak.Load()); first || lat > peak {
		s.peak.Store(math.Float64bits(lat))
	} else {
		s.peak.Store(math.Float64bits(peak*ds + lat*(1-ds)))
	}
	if now > last {
		s.last.Store(now)
	}
	s.mu.Unlock()
}

// ShortWindow returns the time constant of PeakLatency and Recent.
func (s *Stats) ShortWindow() time.Duration { return time.Duration(s.short) }

// PeakLatency returns the peak-sensitive latency average as of now, or 0
// before the first observation. It rises to any latency above it at once
// and falls towards lower ones with the short window. Between observations
// it decays towards zero, so a backend left alone for a while looks cheap
// again and is tried: that is how a peak-EWMA balancer finds out that a slow
// backend has recovered.
func (s *Stats) PeakLatency(now int64) time.Duration {
	p := math.Float64frombits(s.peak.Load())
	return time.Duration(p * s.shortDecay(now))
}

// Recent returns the mean score over the short window and the decayed number
// of observations behind it, as of now. A backend never observed has score 1
// and no observations. Like Observations, the count fades between
// observations, so a strategy can tell a fresh verdict from an old one.
func (s *Stats) Recent(now int64) (score, observations float64) {
	score = math.Float64frombits(s.recent.Load())
	observations = math.Float64frombits(s.rcount.Load()) * s.shortDecay(now)
	return score, observations
}

// shortDecay is the short-window decay factor since the last observation.
// Pickers call it for every candidate of every pick. While the last
// observation is recent (x below 1/64 of the window, the usual case under
// traffic) the Taylor polynomial 1 - x + x²/2 is within 1e-6 of exp(-x) and
// cheaper still than fastExp.
func (s *Stats) shortDecay(now int64) float64 { return s.decayOver(now - s.last.Load()) }

// expDecay is e^-x for x ≥ 0, by a short series where x is small (the
// common case: calls arrive much faster than a window) and fastExp
// otherwise. Decay factors need no more precision than that, and math.Exp
// would be a third of the cost of recording an outcome.
func expDecay(x float64) float64 {
	if x < 1.0/64 {
		return 1 - x + x*x/2
	}
	return fastExp(-x)
}

// decayOver is the short-window decay factor over dt nanoseconds.
func (s *Stats) decayOver(dt int64) float64 {
	if dt <= 0 {
		return 1
	}
	return expDecay(float64(dt) * s.perNs)
}
