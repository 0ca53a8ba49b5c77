package loadbalancer

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-kit/kit/metrics"
	"github.com/go-kit/kit/metrics/discard"
	kitprometheus "github.com/go-kit/kit/metrics/prometheus"
	"github.com/go-kit/kit/metrics/statsd"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// DefaultMetricsInterval is how often a balancer copies its hosts'
// statistics into its Metrics.
const DefaultMetricsInterval = time.Second

// Metrics are the balancer's metrics, through go-kit's metrics interfaces so
// that any backend (Prometheus, statsd, expvar, ...) can receive them. The
// per-host metrics carry a "host" label with the instance address (backends
// without labels, like statsd, aggregate over hosts).
//
// The request path never touches them: a balancer samples its statistics
// every interval (WithMetrics) and on Close, so metrics cost nothing per call.
// Nil fields are discarded.
type Metrics struct {
	// Picks counts calls started through each host's endpoint.
	Picks metrics.Counter
	// Failures counts calls that failed, per host.
	Failures metrics.Counter
	// InFlight is the number of calls under way, per host.
	InFlight metrics.Gauge
	// Score is the decayed mean outcome score in [0,1], per host.
	Score metrics.Gauge
	// Latency is the decayed mean latency in seconds, per host.
	Latency metrics.Gauge
	// Hosts is the number of live hosts.
	Hosts metrics.Gauge
	// NoEndpoints counts Endpoint calls that found no live host.
	NoEndpoints metrics.Counter
	// FactoryErrors counts factory calls that failed (an error, a nil
	// endpoint or a panic); Status lists the instances failing now.
	FactoryErrors metrics.Counter
	// Ejections counts outlier ejections (strategy.WithOutlierEjection),
	// per host; Ejected is the number of hosts ejected now.
	Ejections metrics.Counter
	Ejected   metrics.Gauge
}

// NewPrometheusMetrics builds every balancer metric as a Prometheus
// collector registered with reg (prometheus.DefaultRegisterer if nil), named
// namespace_subsystem_NAME. Give each balancer its own subsystem or register
// them with distinct registerers; a name clash is returned as an error.
func NewPrometheusMetrics(reg prometheus.Registerer, namespace, subsystem string) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	var errs []error
	counter := func(name, help string, labels ...string) metrics.Counter {
		cv := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: subsystem, Name: name, Help: help}, labels)
		errs = append(errs, reg.Register(cv))
		return kitprometheus.NewCounter(cv)
	}
	gauge := func(name, help string, labels ...string) metrics.Gauge {
		gv := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Subsystem: subsystem, Name: name, Help: help}, labels)
		errs = append(errs, reg.Register(gv))
		return kitprometheus.NewGauge(gv)
	}
	m := &Metrics{
		Picks:         counter("picks_total", "Calls started through each host.", "host"),
		Failures:      counter("failures_total", "Calls that failed, per host.", "host"),
		InFlight:      gauge("in_flight", "Calls under way, per host.", "host"),
		Score:         gauge("score", "Decayed mean outcome score in [0,1], per host.", "host"),
		Latency:       gauge("latency_seconds", "Decayed mean call latency, per host.", "host"),
		Hosts:         gauge("hosts", "Live hosts."),
		NoEndpoints:   counter("no_endpoints_total", "Endpoint calls that found no live host."),
		FactoryErrors: counter("factory_errors_total", "Factory calls that failed: an error, a nil endpoint or a panic."),
		Ejections:     counter("ejections_total", "Outlier ejections, per host.", "host"),
		Ejected:       gauge("ejected_hosts", "Hosts ejected as outliers now."),
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("loadbalancer: registering metrics: %w", err)
	}
	return m, nil
}

// NewStatsdMetrics builds every balancer metric on a go-kit statsd sender,
// named prefix + NAME. statsd has no labels, so per-host metrics aggregate
// over hosts (the gauges hold the last host reported). The caller runs the
// sender's SendLoop or WriteLoop.
func NewStatsdMetrics(s *statsd.Statsd, prefix string) (*Metrics, error) {
	if s == nil {
		return nil, invalid("nil statsd sender")
	}
	return &Metrics{
		Picks:         s.NewCounter(prefix+"picks", 1),
		Failures:      s.NewCounter(prefix+"failures", 1),
		InFlight:      s.NewGauge(prefix + "in_flight"),
		Score:         s.NewGauge(prefix + "score"),
		Latency:       s.NewGauge(prefix + "latency_seconds"),
		Hosts:         s.NewGauge(prefix + "hosts"),
		NoEndpoints:   s.NewCounter(prefix+"no_endpoints", 1),
		FactoryErrors: s.NewCounter(prefix+"factory_errors", 1),
		Ejections:     s.NewCounter(prefix+"ejections", 1),
		Ejected:       s.NewGauge(prefix + "ejected_hosts"),
	}, nil
}

// WithMetrics makes the balancer report into m every interval (0 means
// DefaultMetricsInterval) and once more on Close.
func WithMetrics(m *Metrics, interval time.Duration) Option {
	return func(c *config) error {
		if m == nil {
			return invalid("nil metrics")
		}
		if interval < 0 {
			return invalid("negative metrics interval %v", interval)
		}
		if interval == 0 {
			interval = DefaultMetricsInterval
		}
		c.metrics, c.metricsInterval = m.withDefaults(), interval
		return nil
	}
}

func (m *Metrics) withDefaults() *Metrics {
	c := *m
	if c.Picks == nil {
		c.Picks = discard.NewCounter()
	}
	if c.Failures == nil {
		c.Failures = discard.NewCounter()
	}
	if c.NoEndpoints == nil {
		c.NoEndpoints = discard.NewCounter()
	}
	if c.FactoryErrors == nil {
		c.FactoryErrors = discard.NewCounter()
	}
	if c.Ejections == nil {
		c.Ejections = discard.NewCounter()
	}
	for _, g := range []*metrics.Gauge{&c.InFlight, &c.Score, &c.Latency, &c.Hosts, &c.Ejected} {
		if *g == nil {
			*g = discard.NewGauge()
		}
	}
	return &c
}

// reporter copies statistics into metrics. note is called by rebuild (under
// the cache's lock) with every new snapshot; report runs on the balancer's
// goroutine, or in Close after that goroutine has ended.
type reporter struct {
	m *Metrics

	mu    sync.Mutex
	fresh map[*strategy.Host]string // hosts seen in snapshots since the last report

	known     map[*strategy.Host]*hostCounts
	noneAt    uint64
	factoryAt uint64
}

type hostCounts struct {
	addr                       string
	picks, failures, ejections uint64
}

// note remembers a snapshot so that a host that comes and goes between two
// reports still has its calls counted.
func (r *reporter) note(v *view) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fresh == nil {
		r.fresh = map[*strategy.Host]string{}
	}
	for _, m := range v.members {
		r.fresh[m.Host] = m.Host.Address()
	}
}

func (r *reporter) report(current *view, none uint64) {
	r.mu.Lock()
	fresh := r.fresh
	r.fresh = nil
	r.mu.Unlock()
	if r.known == nil {
		r.known = map[*strategy.Host]*hostCounts{}
	}
	for s, addr := range fresh {
		if _, ok := r.known[s]; !ok {
			r.known[s] = &hostCounts{addr: addr}
		}
	}
	for _, m := range current.members {
		if _, ok := r.known[m.Host]; !ok {
			r.known[m.Host] = &hostCounts{addr: m.Host.Address()}
		}
	}
	live := make(map[*strategy.Host]bool, len(current.members))
	for _, m := range current.members {
		live[m.Host] = true
	}
	for s, c := range r.known {
		st := s.Stats()
		picks, failures := st.Started, st.Failures
		r.m.Picks.With("host", c.addr).Add(float64(picks - c.picks))
		r.m.Failures.With("host", c.addr).Add(float64(failures - c.failures))
		c.picks, c.failures = picks, failures
		if st.Ejections > c.ejections {
			r.m.Ejections.With("host", c.addr).Add(float64(st.Ejections - c.ejections))
			c.ejections = st.Ejections
		}
		if !live[s] {
			// Gone: zero its gauges so dashboards do not show a ghost.
			r.m.InFlight.With("host", c.addr).Set(0)
			r.m.Score.With("host", c.addr).Set(0)
			r.m.Latency.With("host", c.addr).Set(0)
			delete(r.known, s)
		}
	}
	ejected := 0
	for _, m := range current.members {
		st := m.Host.Stats()
		if st.Ejected {
			ejected++
		}
		r.m.InFlight.With("host", st.Address).Set(float64(st.InFlight))
		r.m.Score.With("host", st.Address).Set(st.Score)
		r.m.Latency.With("host", st.Address).Set(st.Latency.Seconds())
	}
	r.m.Hosts.Set(float64(len(current.members)))
	r.m.Ejected.Set(float64(ejected))
	if none > r.noneAt {
		r.m.NoEndpoints.Add(float64(none - r.noneAt))
		r.noneAt = none
	}
	if n := current.nFailed; n > r.factoryAt {
		r.m.FactoryErrors.Add(float64(n - r.factoryAt))
		r.factoryAt = n
	}
}
