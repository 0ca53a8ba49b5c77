package loadbalancer

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/metrics"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// Metrics are the balancer's metrics, through go-kit's metrics interfaces so
// that any backend (Prometheus, statsd, expvar, ...) can receive them;
// package lbmetrics builds them for Prometheus and statsd. The per-host
// metrics are given a "host" label with the instance's address through the
// backend's With (backends without labels, like statsd, aggregate over
// hosts). The balancer's own name is the backend's business: bind it as a
// label before passing the metrics here (lbmetrics does).
//
// Everything is sampled from the hosts' statistics every
// strategy.DefaultMetricsInterval and once more on Close, so it costs the
// request path nothing, with one exception: a RequestDuration histogram
// that is not also a strategy.LatencySink takes one Observe per call (into
// a histogram bound to the host when the host joined). lbmetrics'
// Prometheus histograms are sinks: they take each host's new latencies,
// which the host counts anyway, every interval. Nil fields are not
// recorded.
type Metrics struct {
	// Requests counts calls started through each host's endpoint.
	Requests metrics.Counter
	// Failures counts calls that failed, per host.
	Failures metrics.Counter
	// InFlight is the number of calls under way, per host.
	InFlight metrics.Gauge
	// Score is the decayed mean outcome score in [0,1], per host.
	Score metrics.Gauge
	// Latency is the decayed mean latency in seconds, per host: what the
	// strategy sees.
	Latency metrics.Gauge
	// RequestDuration observes each call's latency in seconds, per host:
	// one attempt of a retrying caller. If it is a strategy.LatencySink it
	// is fed every interval rather than per call (see above).
	RequestDuration metrics.Histogram
	// Hosts is the number of live hosts.
	Hosts metrics.Gauge
	// NoEndpoints counts Endpoint calls that found no live host.
	NoEndpoints metrics.Counter
	// FactoryErrors counts factory calls that failed (an error, a nil
	// endpoint or a panic); Status lists the instances failing now.
	FactoryErrors metrics.Counter
	// Ejections counts outlier ejections (strategy.WithOutlierEjection),
	// per host and reason (strategy.EjectionReason); Ejected is the number
	// of hosts ejected now, Ramping the number in slow start
	// (strategy.WithSlowStart).
	Ejections metrics.Counter
	Ejected   metrics.Gauge
	Ramping   metrics.Gauge
	// Utilization is the utilization each host last reported about itself
	// (Host.ReportLoad, fed by package orca), per host; hosts that never
	// reported have no series.
	Utilization metrics.Gauge
	// GroupShare is the share of picks each priority tier, or zone within
	// a tier, is given now (strategy.GroupStats), labelled "priority" and
	// "zone"; it exists only while the hosts form more than one group.
	GroupShare metrics.Gauge
}

// WithMetrics makes the balancer report into m: request durations as they
// happen, the rest every strategy.DefaultMetricsInterval and once more on
// Close. A nil m, or a field holding a typed nil, is an error.
func WithMetrics(m *Metrics) Option {
	return func(c *config) error {
		if m == nil {
			return invalid("nil metrics")
		}
		if why := nilarg.NilField(m); why != "" {
			return invalid("%s", why)
		}
		mc := *m
		c.metrics = &mc
		return nil
	}
}

// hostDuration is the RequestDuration histogram of the host at addr for
// the request path to observe into, or nil when there is none or it is a
// strategy.LatencySink (which the reporter feeds). The cache calls it once
// per new instance, so that the request path observes into a histogram
// bound already.
func (m *Metrics) hostDuration(addr string) metrics.Histogram {
	if m == nil || m.RequestDuration == nil {
		return nil
	}
	h := m.RequestDuration.With("host", addr)
	if _, ok := h.(strategy.LatencySink); ok {
		return nil
	}
	return h
}

// recording wraps an instance's endpoint so that every call through it
// updates the instance's statistics, and observes its duration into d when
// d is not nil. A panic in the endpoint is recorded as a failure
// (ErrEndpointPanicked) and goes on up the caller's goroutine.
func recording(h *strategy.Host, next endpoint.Endpoint, d metrics.Histogram) endpoint.Endpoint {
	if d != nil {
		return func(ctx context.Context, req any) (resp any, err error) {
			start := h.Begin()
			recorded := false
			defer func() {
				if !recorded {
					h.Record(ctx, start, ErrEndpointPanicked)
				}
			}()
			resp, err = next(ctx, req)
			recorded = true
			d.Observe(h.RecordTimed(ctx, start, err).Seconds())
			return resp, err
		}
	}
	return func(ctx context.Context, req any) (resp any, err error) {
		start := h.Begin()
		recorded := false
		defer func() {
			if !recorded {
				h.Record(ctx, start, ErrEndpointPanicked)
			}
		}()
		resp, err = next(ctx, req)
		recorded = true
		h.Record(ctx, start, err)
		return resp, err
	}
}

// reporter copies statistics into metrics. note is called by rebuild (under
// the cache's lock) with every new snapshot; report runs on the balancer's
// goroutine, or in Close after that goroutine has ended.
type reporter struct {
	m *Metrics

	mu    sync.Mutex
	fresh map[*strategy.Host]string // hosts seen in snapshots since the last report

	known     map[*strategy.Host]*hostMetrics
	groups    map[[2]string]bool // the (priority, zone) groups reported last
	noneAt    uint64
	factoryAt uint64
}

// hostMetrics are one host's metrics, bound to its address once, and the
// counts reported so far.
type hostMetrics struct {
	requests, failures, ejections       metrics.Counter
	inFlight, score, lat, util          metrics.Gauge
	reqCount, failedCount, ejectedCount uint64

	// durations takes the host's latencies when RequestDuration is a
	// strategy.LatencySink; fed up to lats and latSum so far.
	durations strategy.LatencySink
	fed       *fedLatencies
}

// fedLatencies is how much of a host's latency record a LatencySink has
// been given.
type fedLatencies struct {
	lats strategy.LatencyHistogram
	sum  time.Duration
}

// newReporter starts a reporter with every series of the balancer at zero,
// so that an alert on one of them has a series before it first fires.
func newReporter(m *Metrics) *reporter {
	r := &reporter{m: m}
	if m.NoEndpoints != nil {
		m.NoEndpoints.Add(0)
	}
	if m.FactoryErrors != nil {
		m.FactoryErrors.Add(0)
	}
	if m.Hosts != nil {
		m.Hosts.Set(0)
	}
	if m.Ejected != nil {
		m.Ejected.Set(0)
	}
	if m.Ramping != nil {
		m.Ramping.Set(0)
	}
	return r
}

func (r *reporter) bind(addr string) *hostMetrics {
	hm := &hostMetrics{}
	if r.m.Requests != nil {
		hm.requests = r.m.Requests.With("host", addr)
		hm.requests.Add(0)
	}
	if r.m.Failures != nil {
		hm.failures = r.m.Failures.With("host", addr)
		hm.failures.Add(0)
	}
	if r.m.Ejections != nil {
		hm.ejections = r.m.Ejections.With("host", addr)
	}
	if r.m.InFlight != nil {
		hm.inFlight = r.m.InFlight.With("host", addr)
	}
	if r.m.Score != nil {
		hm.score = r.m.Score.With("host", addr)
	}
	if r.m.Latency != nil {
		hm.lat = r.m.Latency.With("host", addr)
	}
	if r.m.RequestDuration != nil {
		if sink, ok := r.m.RequestDuration.With("host", addr).(strategy.LatencySink); ok {
			hm.durations, hm.fed = sink, new(fedLatencies)
		}
	}
	return hm
}

// note remembers a snapshot so that a host that comes and goes between two
// reports still has its calls counted.
func (r *reporter) note(v *view) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fresh == nil {
		r.fresh = map[*strategy.Host]string{}
	}
	for _, h := range v.hosts {
		r.fresh[h] = h.Address()
	}
}

func (r *reporter) report(current *view, none uint64, groups []strategy.GroupStats) {
	r.mu.Lock()
	fresh := r.fresh
	r.fresh = nil
	r.mu.Unlock()
	if r.known == nil {
		r.known = map[*strategy.Host]*hostMetrics{}
	}
	for s, addr := range fresh {
		if _, ok := r.known[s]; !ok {
			r.known[s] = r.bind(addr)
		}
	}
	for _, h := range current.hosts {
		if _, ok := r.known[h]; !ok {
			r.known[h] = r.bind(h.Address())
		}
	}
	ejected, ramping := 0, 0
	live := make(map[*strategy.Host]bool, len(current.hosts))
	for _, h := range current.hosts {
		live[h] = true
	}
	for s, hm := range r.known {
		st := s.Stats()
		if hm.requests != nil && st.Started > hm.reqCount {
			hm.requests.Add(float64(st.Started - hm.reqCount))
		}
		if hm.failures != nil && st.Failures > hm.failedCount {
			hm.failures.Add(float64(st.Failures - hm.failedCount))
		}
		if hm.ejections != nil && st.Ejections > hm.ejectedCount {
			// The reason of the last ejection stands for all of them since
			// the last report: at most one in an interval, in practice.
			hm.ejections.With("reason", string(st.EjectionReason)).Add(float64(st.Ejections - hm.ejectedCount))
		}
		if r.m.Utilization != nil && hm.util == nil && st.Load.Reports > st.Load.Ignored {
			// Bound at the first report: a host that never reports has
			// no series (binding makes one, at zero).
			hm.util = r.m.Utilization.With("host", s.Address())
		}
		if hm.util != nil {
			u := st.Load.Last.Utilization()
			if !live[s] {
				u = 0
			}
			hm.util.Set(u)
		}
		hm.reqCount, hm.failedCount, hm.ejectedCount = st.Started, st.Failures, st.Ejections
		if hm.durations != nil {
			if d := st.Latencies.Sub(&hm.fed.lats); d.Count() != 0 {
				hm.durations.AddLatencies(&d, st.LatencySum-hm.fed.sum)
				hm.fed.lats, hm.fed.sum = st.Latencies, st.LatencySum
			}
		}
		if live[s] && st.Ejected {
			ejected++
		}
		if live[s] && !st.Ejected && st.Share < 1 {
			ramping++
		}
		inFlight, score, lat := float64(st.InFlight), st.Score, st.Latency.Seconds()
		if !live[s] {
			// Gone: zero its gauges so dashboards do not show a ghost.
			inFlight, score, lat = 0, 0, 0
			delete(r.known, s)
		}
		setGauge(hm.inFlight, inFlight)
		setGauge(hm.score, score)
		setGauge(hm.lat, lat)
	}
	setGauge(r.m.Hosts, float64(len(current.hosts)))
	setGauge(r.m.Ejected, float64(ejected))
	setGauge(r.m.Ramping, float64(ramping))
	if r.m.GroupShare != nil {
		seen := make(map[[2]string]bool, len(groups))
		for _, g := range groups {
			k := [2]string{strconv.Itoa(g.Priority), g.Zone}
			seen[k] = true
			r.m.GroupShare.With("priority", k[0], "zone", k[1]).Set(g.Share)
		}
		for k := range r.groups { // groups gone: zero, as for hosts
			if !seen[k] {
				r.m.GroupShare.With("priority", k[0], "zone", k[1]).Set(0)
			}
		}
		r.groups = seen
	}
	if none > r.noneAt {
		if r.m.NoEndpoints != nil {
			r.m.NoEndpoints.Add(float64(none - r.noneAt))
		}
		r.noneAt = none
	}
	if n := current.nFailed; n > r.factoryAt {
		if r.m.FactoryErrors != nil {
			r.m.FactoryErrors.Add(float64(n - r.factoryAt))
		}
		r.factoryAt = n
	}
}

func setGauge(g metrics.Gauge, v float64) {
	if g != nil {
		g.Set(v)
	}
}
