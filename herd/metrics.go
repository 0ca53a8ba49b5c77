package herd

import (
	"fmt"

	"github.com/go-kit/kit/metrics"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
)

// Metric names, without namespace: a herd's metrics are
// NAMESPACE_success_total and so on, so that with the namespace "gofherd"
// they are gofherd's (gofherd_success_total, gofherd_retry_total,
// gofherd_failure_total), and dashboards built for gofherd keep working.
const (
	// MetricSuccess counts items that succeeded (Metrics.Success).
	MetricSuccess = "success_total"
	// MetricRetry counts retries granted (Metrics.Retry).
	MetricRetry = "retry_total"
	// MetricFailure counts items that failed (Metrics.Failure).
	MetricFailure = "failure_total"
	// MetricSize is the herd's size (Metrics.Size); gofherd had none.
	MetricSize = "size"
	// MetricBusy is the number of workers processing an item
	// (Metrics.Busy); gofherd had none.
	MetricBusy = "busy"
)

// Metrics receives the herd's counts, through go-kit's metrics interfaces;
// package lbmetrics builds them for Prometheus and statsd. Nil fields are
// not reported.
type Metrics struct {
	// Success, Retry and Failure count the function's outcomes: Retry
	// once per retry granted, Failure once per failed item (retries
	// exhausted included).
	Success, Retry, Failure metrics.Counter
	// Size is the herd's size after each change; Busy the workers
	// processing an item.
	Size, Busy metrics.Gauge
}

// WithMetrics reports the herd's counts into m. Its counters are
// initialised with zero at once, so that an alert on one has a series
// before it first fires. A nil m, or a field holding a typed nil, is an
// error wrapping ErrInvalidArgument.
func WithMetrics(m *Metrics) Option {
	return func(c *config) error {
		if m == nil {
			return fmt.Errorf("%w: nil metrics", ErrInvalidArgument)
		}
		if why := nilarg.NilField(m); why != "" {
			return fmt.Errorf("%w: %s", ErrInvalidArgument, why)
		}
		for _, f := range []metrics.Counter{m.Success, m.Retry, m.Failure} {
			if f != nil {
				f.Add(0)
			}
		}
		if m.Busy != nil {
			m.Busy.Set(0)
		}
		c.metrics = *m
		return nil
	}
}
