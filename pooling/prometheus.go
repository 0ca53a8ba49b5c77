package pooling

import (
	"github.com/go-kit/kit/metrics"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
)

// NewPrometheusMetrics registers the full metrics set with reg, named
// NAMESPACE_pooling_... (pooly's names with dots as underscores, counters
// ending in _total, durations in _seconds, hosts.score as
// hosts_score_percent, hosts.count as hosts, conns.count as conns_open),
// each carrying constLabels (for example the service's name, so that
// several services can share reg). It returns the registration error if a
// metric with the same name and labels is already registered.
//
// Unlike go-kit's metrics/prometheus, whose every Add builds a label map,
// these record without allocating. Their With ignores label values; use
// constLabels, or your own metrics through go-kit's adapters, for labels.
func NewPrometheusMetrics(reg prometheus.Registerer, namespace string, constLabels prometheus.Labels) (*Metrics, error) {
	if nilarg.IsNil(reg) {
		return nil, invalid("nil prometheus registerer")
	}
	const sub = "pooling"
	var cs []prometheus.Collector
	gauge := func(name, help string) metrics.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Subsystem: sub, Name: name, Help: help, ConstLabels: constLabels})
		cs = append(cs, g)
		return promGauge{g}
	}
	counter := func(name, help string) metrics.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Subsystem: sub, Name: name, Help: help, ConstLabels: constLabels})
		cs = append(cs, c)
		return promCounter{c}
	}
	histogram := func(name, help string, buckets []float64) metrics.Histogram {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Subsystem: sub, Name: name, Help: help, ConstLabels: constLabels, Buckets: buckets})
		cs = append(cs, h)
		return promHistogram{h}
	}
	m := &Metrics{
		HostsScore:        gauge("hosts_score_percent", "Mean score of the service's hosts, in percent ("+MetricHostsScore+")."),
		HostsCount:        gauge("hosts", "Hosts in the service ("+MetricHostsCount+")."),
		ConnsCount:        gauge("conns_open", "Connections open ("+MetricConnsCount+")."),
		ConnsFails:        counter("conns_fails_total", "Failed dial attempts and connections given back with an error ("+MetricConnsFails+")."),
		ConnsPutCount:     counter("conns_put_total", "Connections given back ("+MetricConnsPutCount+")."),
		ConnsGetCount:     counter("conns_get_total", "Connection requests ("+MetricConnsGetCount+")."),
		ConnsGetDelay:     histogram("conns_get_delay_seconds", "Time to get a connection ("+MetricConnsGetDelay+").", prometheus.ExponentialBuckets(1e-5, 4, 10)),
		ConnsGetFails:     counter("conns_get_fails_total", "Failed connection requests ("+MetricConnsGetFails+")."),
		ConnsActivePeriod: histogram("conns_active_period_seconds", "Time a connection stayed borrowed ("+MetricConnsActivePeriod+").", prometheus.ExponentialBuckets(1e-4, 4, 11)),
	}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return nil, err
		}
	}
	return m, nil
}

type promCounter struct{ c prometheus.Counter }

func (p promCounter) With(...string) metrics.Counter { return p }
func (p promCounter) Add(d float64)                  { p.c.Add(d) }

type promGauge struct{ g prometheus.Gauge }

func (p promGauge) With(...string) metrics.Gauge { return p }
func (p promGauge) Set(v float64)                { p.g.Set(v) }
func (p promGauge) Add(d float64)                { p.g.Add(d) }

type promHistogram struct{ h prometheus.Histogram }

func (p promHistogram) With(...string) metrics.Histogram { return p }
func (p promHistogram) Observe(v float64)                { p.h.Observe(v) }
