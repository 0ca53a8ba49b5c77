package lbmetrics

import (
	"errors"
	"fmt"

	"github.com/go-kit/kit/metrics"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/herd"
	"github.com/seed41aebe0c/lbkit/internal/nilarg"
)

// NewGofherd registers a herd's metrics under gofherd's names and returns
// them for herd.WithMetrics: NAMESPACE_success_total, _retry_total and
// _failure_total (herd.MetricSuccess ...), plus NAMESPACE_size and
// NAMESPACE_busy, which gofherd had not, each carrying constLabels. With
// the namespace "gofherd" dashboards and alerts written for gofherd keep
// working. New code should prefer Service(name).Herd, whose names follow
// the rest of lbkit (NAMESPACE_herd_items_total{service,outcome}).
//
// If a name is taken already, nothing of this call stays registered and the
// error wraps ErrAlreadyRegistered; a nil reg is an error wrapping
// ErrInvalidArgument. Label values passed to With are ignored: use
// constLabels.
func NewGofherd(reg prometheus.Registerer, namespace string, constLabels prometheus.Labels) (*herd.Metrics, error) {
	if nilarg.IsNil(reg) {
		return nil, fmt.Errorf("%w: nil prometheus registerer", ErrInvalidArgument)
	}
	if namespace != "" && !validName.MatchString(namespace) {
		return nil, fmt.Errorf("%w: namespace %q is not a Prometheus name", ErrInvalidArgument, namespace)
	}
	var cs []prometheus.Collector
	counter := func(name, help string) metrics.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help, ConstLabels: constLabels})
		cs = append(cs, c)
		return fixedCounter{c}
	}
	gauge := func(name, help string) metrics.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help, ConstLabels: constLabels})
		cs = append(cs, g)
		return fixedGauge{g}
	}
	m := &herd.Metrics{
		Success: counter(herd.MetricSuccess, "Work items that succeeded."),
		Retry:   counter(herd.MetricRetry, "Retries granted to work items."),
		Failure: counter(herd.MetricFailure, "Work items that failed."),
		Size:    gauge(herd.MetricSize, "Workers the herd should have."),
		Busy:    gauge(herd.MetricBusy, "Workers processing an item."),
	}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			var already prometheus.AlreadyRegisteredError
			if errors.As(err, &already) {
				return nil, fmt.Errorf("%w: gofherd metrics in namespace %q: %v", ErrAlreadyRegistered, namespace, err)
			}
			return nil, fmt.Errorf("lbmetrics: registering gofherd metrics: %w", err)
		}
	}
	return m, nil
}

// fixedCounter and fixedGauge are label-less Prometheus metrics as go-kit
// metrics; With returns them unchanged.
type fixedCounter struct{ c prometheus.Counter }

func (p fixedCounter) With(...string) metrics.Counter { return p }
func (p fixedCounter) Add(d float64)                  { p.c.Add(d) }

type fixedGauge struct{ g prometheus.Gauge }

func (p fixedGauge) With(...string) metrics.Gauge { return p }
func (p fixedGauge) Set(v float64)                { p.g.Set(v) }
func (p fixedGauge) Add(d float64)                { p.g.Add(d) }
