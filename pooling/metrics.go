package pooling

import (
	"github.com/go-kit/kit/metrics"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
)

// Names of the metrics, pooly's. Adapters that need other spellings (such
// as Prometheus, which has no dots) derive theirs from these.
const (
	MetricHostsScore        = "hosts.score"
	MetricHostsCount        = "hosts.count"
	MetricConnsCount        = "conns.count"
	MetricConnsFails        = "conns.fails"
	MetricConnsPutCount     = "conns.put.count"
	MetricConnsGetCount     = "conns.get.count"
	MetricConnsGetDelay     = "conns.get.delay"
	MetricConnsGetFails     = "conns.get.fails"
	MetricConnsActivePeriod = "conns.active.period"
)

// Metrics receives what pools and services measure, through go-kit's
// metrics interfaces, so any go-kit backend (Prometheus, statsd, expvar,
// ...) works. Every field is optional: a nil field records nothing and costs
// nothing. Durations are observed in seconds.
//
// A Pool binds the per-connection and Get metrics to its address with the
// backend's With("host", address) when it is made (so the pools that
// Factory puts under a balancer report per host); a Service's own metrics
// (hosts, scores, GetConn) carry no host. Package lbmetrics builds them for
// Prometheus and statsd, with the service's name as a label.
type Metrics struct {
	// HostsScore (hosts.score) is set to the mean score of a Service's
	// hosts, in percent, when hosts are added or removed and every metrics
	// interval.
	HostsScore metrics.Gauge
	// HostsCount (hosts.count) is set to the number of a Service's hosts.
	HostsCount metrics.Gauge
	// ConnsCount (conns.count) goes up by one for each connection dialled
	// and down by one for each closed: the connections open now.
	ConnsCount metrics.Gauge
	// ConnsFails (conns.fails) counts connection failures, temporary
	// included: failed dial attempts, and connections given back with an
	// error.
	ConnsFails metrics.Counter
	// ConnsPutCount (conns.put.count) counts Put, Release and Discard
	// calls.
	ConnsPutCount metrics.Counter
	// ConnsGetCount (conns.get.count) counts Pool.Get and Service.GetConn
	// calls (one per GetConn, however many hosts it tries).
	ConnsGetCount metrics.Counter
	// ConnsGetDelay (conns.get.delay) observes how long each successful
	// Get or GetConn took, in seconds. A Get served from the pool's
	// lock-free lane (an idle connection of the calling goroutine's slot,
	// no lock, no test due) counts as 0: it takes tens of nanoseconds,
	// far below the first bucket, and timing it would double its cost.
	ConnsGetDelay metrics.Histogram
	// ConnsGetFails (conns.get.fails) counts failed Get and GetConn calls.
	ConnsGetFails metrics.Counter
	// ConnsActivePeriod (conns.active.period) observes how long each
	// connection was borrowed, from Get to Put, in seconds.
	ConnsActivePeriod metrics.Histogram
}

// forPools is the part of m that the pools under a Service report: the
// per-connection events. The Service reports the per-GetConn ones itself,
// so that a GetConn that tries two hosts counts once.
func (m *Metrics) forPools() *Metrics {
	if m == nil {
		return nil
	}
	return &Metrics{
		ConnsCount:        m.ConnsCount,
		ConnsFails:        m.ConnsFails,
		ConnsPutCount:     m.ConnsPutCount,
		ConnsActivePeriod: m.ConnsActivePeriod,
	}
}

// forHost is m with the metrics a Pool records bound to its address.
func (m *Metrics) forHost(addr string) Metrics {
	if m == nil {
		return Metrics{}
	}
	c := *m
	for _, f := range []*metrics.Counter{&c.ConnsFails, &c.ConnsPutCount, &c.ConnsGetCount, &c.ConnsGetFails} {
		if *f != nil {
			*f = (*f).With("host", addr)
		}
	}
	for _, f := range []*metrics.Histogram{&c.ConnsGetDelay, &c.ConnsActivePeriod} {
		if *f != nil {
			*f = (*f).With("host", addr)
		}
	}
	if c.ConnsCount != nil {
		c.ConnsCount = c.ConnsCount.With("host", addr)
	}
	return c
}

// validate rejects fields holding typed nils, which would panic when
// recorded to; nil fields are fine.
func (m *Metrics) validate() error {
	if why := nilarg.NilField(m); why != "" {
		return invalid("%s", why)
	}
	return nil
}

// observeGet records one Get or GetConn that started at start (a reading
// of now). A fast one, served from a pool's lock-free lane, took tens of
// nanoseconds: it counts as 0 s, without another reading of the clock.
func (m *Metrics) observeGet(start int64, fast bool, err error) {
	if m.ConnsGetCount != nil {
		m.ConnsGetCount.Add(1)
	}
	if err != nil {
		if m.ConnsGetFails != nil {
			m.ConnsGetFails.Add(1)
		}
		return
	}
	if m.ConnsGetDelay != nil {
		d := 0.0
		if !fast {
			d = seconds(now() - start)
		}
		m.ConnsGetDelay.Observe(d)
	}
}
