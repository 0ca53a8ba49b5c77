package herd

import (
	"fmt"

	"github.com/go-kit/kit/metrics"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
)

// NewPrometheusMetrics registers the herd's metric set with reg under the
// Metric... names in namespace ("gofherd" gives gofherd's names), each
// carrying constLabels, and returns it for WithMetrics. It returns the
// registration error if one of the names is taken already, with nothing
// left registered. The metrics record without allocating; their With
// ignores label values (use constLabels).
func NewPrometheusMetrics(reg prometheus.Registerer, namespace string, constLabels prometheus.Labels) (Metrics, error) {
	if nilarg.IsNil(reg) {
		return Metrics{}, fmt.Errorf("%w: nil prometheus registerer", ErrInvalidArgument)
	}
	var cs []prometheus.Collector
	counter := func(name, help string) metrics.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help, ConstLabels: constLabels})
		cs = append(cs, c)
		return promCounter{c}
	}
	gauge := func(name, help string) metrics.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help, ConstLabels: constLabels})
		cs = append(cs, g)
		return promGauge{g}
	}
	m := Metrics{
		Success: counter(MetricSuccess, "Work items that succeeded."),
		Retry:   counter(MetricRetry, "Retries granted to work items."),
		Failure: counter(MetricFailure, "Work items that failed."),
		Size:    gauge(MetricSize, "Workers the herd should have."),
		Busy:    gauge(MetricBusy, "Workers processing an item."),
	}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return Metrics{}, err
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
