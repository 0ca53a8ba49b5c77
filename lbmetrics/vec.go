package lbmetrics

import (
	"sync"
	"time"

	"github.com/go-kit/kit/metrics"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// bound is a family's label values so far; values not given are empty.
// Every With copies them and binds a series: resolved at once when every
// label has a value (so that the series exists, at zero, from then on),
// otherwise on first use (so that a per-host family shows no host="" series
// unless something records without a host). Either way Add, Set and
// Observe are then one atomic update of a known series, with no lock and no
// allocation. With ignores label names the family does not have.
type bound struct {
	f   family
	lvs []string
}

func bind(f family, kv []string) bound {
	b := bound{f: f, lvs: make([]string, len(f.labels))}
	for i := 0; i+1 < len(kv); i += 2 {
		for j, name := range f.labels {
			if name == kv[i] {
				b.lvs[j] = kv[i+1]
			}
		}
	}
	return b
}

func (b bound) complete() bool {
	for _, v := range b.lvs {
		if v == "" {
			return false
		}
	}
	return true
}

// pairs returns the label values so far as name, value pairs.
func (b bound) pairs(more []string) []string {
	kv := make([]string, 0, 2*len(b.lvs)+len(more))
	for i, name := range b.f.labels {
		kv = append(kv, name, b.lvs[i])
	}
	return append(kv, more...)
}

// series is one bound series of type T, resolved once.
type series[T any] struct {
	once    sync.Once
	v       T
	resolve func() T
}

func newSeries[T any](b bound, resolve func(lvs ...string) T) *series[T] {
	s := &series[T]{resolve: func() T { return resolve(b.lvs...) }}
	if b.complete() {
		s.get()
	}
	return s
}

func (s *series[T]) get() T {
	s.once.Do(func() { s.v = s.resolve() })
	return s.v
}

type counter struct {
	b bound
	s *series[prometheus.Counter]
}

func newCounter(f family, kv []string) counter {
	b := bind(f, kv)
	return counter{b, newSeries(b, f.vec.(*prometheus.CounterVec).WithLabelValues)}
}

func (c counter) With(kv ...string) metrics.Counter { return newCounter(c.b.f, c.b.pairs(kv)) }
func (c counter) Add(d float64)                     { c.s.get().Add(d) }

type gauge struct {
	b bound
	s *series[prometheus.Gauge]
}

func newGauge(f family, kv []string) gauge {
	b := bind(f, kv)
	return gauge{b, newSeries(b, f.vec.(*prometheus.GaugeVec).WithLabelValues)}
}

func (g gauge) With(kv ...string) metrics.Gauge { return newGauge(g.b.f, g.b.pairs(kv)) }
func (g gauge) Set(v float64)                   { g.s.get().Set(v) }
func (g gauge) Add(d float64)                   { g.s.get().Add(d) }

// histogram is a series of a histogramVec; it is also a
// strategy.LatencySink, so that a balancer feeds it its hosts' latency
// records instead of observing every call.
type histogram struct {
	b bound
	s *series[*latencySeries]
	// direct is the series when every label had a value at With, so
	// that Observe, on a request path, goes straight to it.
	direct *latencySeries
}

func newHistogram(f family, kv []string) *histogram {
	b := bind(f, kv)
	h := &histogram{b: b, s: newSeries(b, f.vec.(*histogramVec).with)}
	if b.complete() {
		h.direct = h.s.get()
	}
	return h
}

func (h *histogram) With(kv ...string) metrics.Histogram { return newHistogram(h.b.f, h.b.pairs(kv)) }

func (h *histogram) Observe(v float64) {
	if s := h.direct; s != nil {
		s.observe(v)
		return
	}
	h.s.get().observe(v)
}

// AddLatencies implements strategy.LatencySink.
func (h *histogram) AddLatencies(l *strategy.LatencyHistogram, sum time.Duration) {
	h.s.get().c.Add(l, sum)
}

// percentToRatio turns the pooling Service's mean score, which it sets in
// percent (pooly's hosts.score), into the 0-1 ratio Prometheus wants.
type percentToRatio struct{ g metrics.Gauge }

func (p percentToRatio) With(kv ...string) metrics.Gauge { return percentToRatio{p.g.With(kv...)} }
func (p percentToRatio) Set(v float64)                   { p.g.Set(v / 100) }
func (p percentToRatio) Add(d float64)                   { p.g.Add(d / 100) }
