package strategy

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultWindow is the time constant of the decay applied to scores and
// latencies: an observation made DefaultWindow ago weighs 1/e of a new one.
// It matches pooly's one-minute decay duration.
const DefaultWindow = time.Minute

// DefaultShortWindow is the time constant of the peak-sensitive latency
// average, which PeakEWMA reads. It is short so that a backend that slows
// down and then recovers regains its traffic within seconds. (The recent
// score forgets by observations instead: see WithMaxObservations.)
const DefaultShortWindow = 5 * time.Second

// monotonicEpoch anchors the default clock; only differences between
// readings matter.
var monotonicEpoch = time.Now()

// monotonicNow is the default clock: nanoseconds since the package was
// loaded, read from the monotonic clock.
func monotonicNow() int64 { return int64(time.Since(monotonicEpoch)) }

// Start is the moment a call began, as returned by Host.Begin. Pass it to
// exactly one of Record, RecordScore or Abandon.
type Start int64

// Host is the live record of one backend: its address, weight and priority,
// the calls in flight, and time-decayed statistics of the outcomes of its
// calls. Strategies read it to pick; callers update it with Begin and
// Record. Every method is safe for concurrent use and allocates nothing
// (Stats excepted). Create it with NewHost or HostSet.NewHost; Stats takes
// a snapshot.
type Host struct {
	address  string
	clock    func() int64
	scorer   Scorer
	window   float64 // decay time constant, in nanoseconds
	priority atomic.Int64
	metadata atomic.Pointer[map[string]string]
	group    *healthGroup // outlier ejection and slow start; nil if neither
	hh       hostHealth
	zone     atomic.Pointer[string] // SetZone; see locality.go
	minScore float64                // healthy's threshold (WithHealthyScore)
	streak   atomic.Int64           // consecutive failures; see healthy

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

	// The peak latency, decayed with time constant short.
	short float64       // nanoseconds
	perNs float64       // 1/short, so that pickers multiply instead of divide
	peak  atomic.Uint64 // float64 bits: peak-sensitive latency EWMA, ns

	// The recent record, which forgets by the host's own observations
	// (see memory.go).
	memory

	// Every observed latency, for HostStats.Latencies: 900 bytes, kept
	// out of line so that a Host stays small and a pick among many hosts
	// stays in the cache.
	latencies *LatencyCounter

	load hostLoad // what the backend reported about its load (load.go)
}

// NewHost returns the record of a backend at address with the given weight
// (values below 1 are stored as 1). A new host has score 1, no latency and
// no observations. The options are WithWindow, WithShortWindow, WithClock
// and WithScorer; a bad option is an error wrapping ErrInvalidArgument.
func NewHost(address string, weight int, opts ...Option) (*Host, error) {
	cfg, err := newHostConfig(opts)
	if err != nil {
		return nil, err
	}
	if cfg.group != nil {
		return nil, invalid("outlier ejection and slow start apply to a HostSet, not to one host")
	}
	return cfg.newHost(address, weight), nil
}

func (c *hostConfig) newHost(address string, weight int) *Host {
	h := &Host{address: address, clock: c.clock, scorer: c.scorer, window: float64(c.window), short: float64(c.short), group: c.group}
	h.minScore = c.tiers.healthyScore
	h.latencies = new(LatencyCounter)
	h.SetWeight(weight)
	h.perNs = 1 / h.short
	h.score.Store(math.Float64bits(1))
	h.memory.init(c.maxObs, h.window)
	return h
}

// Address returns the backend's address.
func (s *Host) Address() string { return s.address }

// Weight returns the backend's weight, at least 1.
func (s *Host) Weight() int { return int(s.weight.Load()) }

// SetWeight changes the backend's weight; values below 1 are stored as 1.
// Weighted pickers built before the change keep the old weight: a HostSet
// builds a new picker on its next Update.
func (s *Host) SetWeight(w int) {
	if w < 1 {
		w = 1
	}
	s.weight.Store(int64(w))
}

// Priority returns the backend's priority (lower is preferred, as in DNS
// SRV); 0 unless SetPriority changed it.
func (s *Host) Priority() int { return int(s.priority.Load()) }

// SetPriority changes the backend's priority.
func (s *Host) SetPriority(p int) { s.priority.Store(int64(p)) }

// SetMetadata records what discovery says about the backend (tags, zone,
// version), for status pages; strategies do not read it. The map must not
// be modified afterwards.
func (s *Host) SetMetadata(m map[string]string) {
	if m == nil {
		s.metadata.Store(nil)
		return
	}
	s.metadata.Store(&m)
}

// InFlight returns the number of calls begun and not yet recorded.
func (s *Host) InFlight() int64 { return s.inflight.Load() }

// mean returns the time-decayed mean of the scores observed, in [0,1]. A
// backend never observed scores 1, so that it is tried.
func (s *Host) mean() float64 { return math.Float64frombits(s.score.Load()) }

// Observations returns the time-decayed number of observations as of now: a
// backend that has not been called for a few windows counts as nearly
// unknown again, which is what lets bandit strategies re-explore it.
func (s *Host) observations(now int64) float64 {
	c := math.Float64frombits(s.count.Load())
	if c == 0 {
		return 0
	}
	if dt := now - s.last.Load(); dt > 0 {
		c *= math.Exp(-float64(dt) / s.window)
	}
	return c
}

// Begin records the start of a call: one more in flight. Pass the result
// to exactly one of Record, RecordScore or Abandon.
func (s *Host) Begin() Start {
	s.started.Add(1)
	s.inflight.Add(1)
	return Start(s.clock())
}

// Record records the outcome of a call begun with Begin: one fewer in
// flight and, unless the caller gave up, an observation of the call's
// latency and of the score the host's Scorer (WithScorer; ErrorScorer by
// default) gives err.
//
// Record owns lbkit's one rule about cancellation: a call that failed
// while the caller's own context was cancelled says nothing about the host
// (the caller gave up, the host did not fail), so it is abandoned, not
// scored. A context that ran out of time is held against the host: it was
// too slow for the caller. ctx may be nil when there is none; then only the
// error decides, and an error wrapping context.Canceled is the caller's.
func (s *Host) Record(ctx context.Context, start Start, err error) {
	s.recordAt(ctx, start, err, s.clock())
}

// recordAt is Record at time now (a reading of the host's clock).
func (s *Host) recordAt(ctx context.Context, start Start, err error, now int64) {
	if err != nil && callerGaveUp(ctx, err) {
		s.inflight.Add(-1)
		return
	}
	lat := time.Duration(now - int64(start))
	score, failed := s.scorer(err, lat)
	s.inflight.Add(-1)
	s.observe(now, lat, failed, score)
}

// RecordScore is Record with the score given by the caller (in [0,1];
// values outside are clamped) rather than by the host's Scorer: pooly's
// Release(err, score), where the caller knows best how well the host
// served. A non-nil err counts the call as a failure.
func (s *Host) RecordScore(ctx context.Context, start Start, err error, score float64) {
	now := s.clock()
	s.inflight.Add(-1)
	if err != nil && callerGaveUp(ctx, err) {
		return
	}
	s.observe(now, time.Duration(now-int64(start)), err != nil, score)
}

// Abandon records the end of a call that says nothing about the backend,
// such as one that never reached it: one fewer in flight, no observation.
func (s *Host) Abandon(Start) { s.inflight.Add(-1) }

// callerGaveUp reports whether a failed call's error is the caller's own
// cancellation.
func callerGaveUp(ctx context.Context, err error) bool {
	if ctx != nil {
		return errors.Is(ctx.Err(), context.Canceled)
	}
	return errors.Is(err, context.Canceled)
}

// observe records an outcome at time now without touching the in-flight
// count.
func (s *Host) observe(now int64, latency time.Duration, failed bool, score float64) {
	if failed {
		s.failures.Add(1)
		s.streak.Add(1)
	} else if s.streak.Load() != 0 {
		s.streak.Store(0)
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
	s.latencies.Record(latency)
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
	s.memory.observe(now, last, first, score, s.sumW)
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
	if s.group != nil {
		s.group.observed(s, now, failed)
	}
}

// peakLatency returns the peak-sensitive latency average as of now, or 0
// before the first observation. It rises to any latency above it at once
// and falls towards lower ones with the short window. Between observations
// it decays towards zero, so a backend left alone for a while looks cheap
// again and is tried: that is how a peak-EWMA balancer finds out that a slow
// backend has recovered.
func (s *Host) peakLatency(now int64) time.Duration {
	p := math.Float64frombits(s.peak.Load())
	return time.Duration(p * s.shortDecay(now))
}

// shortDecay is the short-window decay factor since the last observation.
// Pickers call it for every candidate of every pick. While the last
// observation is recent (x below 1/64 of the window, the usual case under
// traffic) the Taylor polynomial 1 - x + x²/2 is within 1e-6 of exp(-x) and
// cheaper still than fastExp.
func (s *Host) shortDecay(now int64) float64 { return s.decayOver(now - s.last.Load()) }

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
func (s *Host) decayOver(dt int64) float64 {
	if dt <= 0 {
		return 1
	}
	return expDecay(float64(dt) * s.perNs)
}

// HostStats is a snapshot of one host: what status pages, metrics and tests
// read. It is a plain value; the live record is Host.
type HostStats struct {
	Address  string
	Weight   int
	Priority int
	// Zone is the host's zone (SetZone), Healthy whether it counts as
	// healthy for the tier and zone shares (see HostSet).
	Zone    string
	Healthy bool
	// Metadata is what discovery said about the host (Host.SetMetadata).
	Metadata map[string]string
	// InFlight is the number of calls under way.
	InFlight int64
	// Started counts calls begun; Requests those recorded (not abandoned);
	// Failures the recorded ones that failed.
	Started, Requests, Failures uint64
	// Score is the time-decayed mean outcome score in [0,1] over the long
	// window (1 before the first observation).
	Score float64
	// Latency is the time-decayed mean latency over the long window.
	Latency time.Duration
	// PeakLatency is the peak-sensitive latency average over the short
	// window, as of the snapshot.
	PeakLatency time.Duration
	// RecentScore is the mean score of the host's recent record: about
	// its last WithMaxObservations outcomes (see DefaultMaxObservations).
	RecentScore float64
	// Latencies counts every recorded call's latency since the host was
	// made, in fixed buckets: the difference of two snapshots gives the
	// quantiles of the calls between them.
	Latencies LatencyHistogram
	// LatencySum is the sum of the latencies Latencies counts.
	LatencySum time.Duration
	// HostHealth is the host's outlier-ejection and slow-start state.
	HostHealth
	// Load is what the backend reported about its own load
	// (Host.ReportLoad).
	Load LoadStats
}

// Stats returns a snapshot of the host's statistics.
func (s *Host) Stats() HostStats {
	now := s.clock()
	recent, _ := s.recentScore(now)
	lats, latSum := s.latencies.Snapshot()
	var meta map[string]string
	if m := s.metadata.Load(); m != nil {
		meta = *m
	}
	return HostStats{
		Address:     s.address,
		Metadata:    meta,
		Weight:      s.Weight(),
		Priority:    s.Priority(),
		Zone:        s.Zone(),
		Healthy:     s.healthy(now, s.minScore),
		InFlight:    s.inflight.Load(),
		Started:     s.started.Load(),
		Requests:    s.requests.Load(),
		Failures:    s.failures.Load(),
		Score:       s.mean(),
		Latency:     time.Duration(math.Float64frombits(s.latency.Load())),
		PeakLatency: s.peakLatency(now),
		RecentScore: recent,
		Latencies:   lats,
		LatencySum:  latSum,
		HostHealth:  s.health(now),
		Load:        s.loadStats(now),
	}
}
