package retry

import (
	"context"
	"sync/atomic"

	"github.com/go-kit/kit/metrics"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
)

// Metrics are a Retrier's metrics, through go-kit's metrics interfaces;
// package lbmetrics builds them for Prometheus and statsd, with the
// service's name as a label. Nil fields are not recorded.
//
// On the success path a call costs one Observe into RequestDuration (whose
// count is the number of calls) and one more clock reading, about 60 ns in
// all on the development VM (docs/metrics.md); the counters move only when
// a call retries, hedges or runs out of budget, each by one Add where the
// Retrier already counts for Stats, so with RequestDuration nil the success
// path costs nothing more. The cost of Observe and
// Add is the backend's: lbmetrics' Prometheus metrics are lock-free atomic
// adds bound to their labels in advance, while go-kit's statsd takes a lock.
type Metrics struct {
	// RequestDuration observes each call's duration in seconds, every
	// attempt and wait included: the latency the caller saw.
	RequestDuration metrics.Histogram
	// Retries counts attempts started after a failed one.
	Retries metrics.Counter
	// BudgetExhausted counts calls ended because the retry budget was spent.
	BudgetExhausted metrics.Counter
	// Hedges counts hedged attempts started.
	Hedges metrics.Counter
	// HedgeWins counts calls whose successful attempt was a hedge.
	HedgeWins metrics.Counter
	// HedgesCapped counts hedges the hedge cap refused.
	HedgesCapped metrics.Counter
}

// WithMetrics makes the Retrier record into m. Every counter of m is
// initialised with zero at once, so that an alert on it has a series before
// it first fires. A nil m, or a field holding a typed nil, is an error.
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

// counter is one of the Retrier's counters: an atomic for Stats and the
// metric it feeds, if any.
type counter struct {
	n atomic.Uint64
	m metrics.Counter
}

func (c *counter) Add(d uint64) {
	c.n.Add(d)
	if c.m != nil {
		c.m.Add(float64(d))
	}
}

func (c *counter) Load() uint64 { return c.n.Load() }

// feed makes c record into m from now on (and shows m's series at zero).
func (c *counter) feed(m metrics.Counter) {
	if m != nil {
		m.Add(0)
	}
	c.m = m
}

// useMetrics wires m into r. New calls it before r is shared.
func (r *Retrier) useMetrics(m *Metrics) {
	r.retries.feed(m.Retries)
	r.budgetExhausted.feed(m.BudgetExhausted)
	r.hedges.feed(m.Hedges)
	r.hedgeWins.feed(m.HedgeWins)
	r.hedgesCapped.feed(m.HedgesCapped)
	if h := m.RequestDuration; h != nil {
		// The call's own start reading serves the histogram too: one
		// more reading of the clock, at the end.
		r.ep = func(ctx context.Context, req any) (any, error) {
			start := clock()
			resp, err := r.callFrom(ctx, req, start)
			h.Observe(float64(clock()-start) / 1e9)
			return resp, err
		}
	}
}
