package retry

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
)

// DefaultMetricsInterval is how often a Retrier copies its counters into its
// Metrics.
const DefaultMetricsInterval = time.Second

// Metrics are a Retrier's metrics, through go-kit's metrics interfaces. The
// request path only bumps the Retrier's own atomic counters; a goroutine
// started by WithMetrics adds what changed every interval, and once more on
// Close, so metrics cost nothing per call. Nil fields are discarded.
type Metrics struct {
	// Calls counts calls to the retrying endpoint.
	Calls metrics.Counter
	// Attempts counts attempts started: first attempts, retries and hedges.
	Attempts metrics.Counter
	// Retries counts attempts started after a failed one.
	Retries metrics.Counter
	// BudgetExhausted counts calls ended because the retry budget was spent.
	BudgetExhausted metrics.Counter
	// Hedges counts hedged attempts started; HedgeWins the calls a hedge
	// won; HedgesCapped the hedges the hedge cap refused.
	Hedges, HedgeWins, HedgesCapped metrics.Counter
}

// NewPrometheusMetrics builds every retry metric as a Prometheus counter
// registered with reg (prometheus.DefaultRegisterer if nil), named
// namespace_subsystem_NAME; a name clash is returned as an error.
func NewPrometheusMetrics(reg prometheus.Registerer, namespace, subsystem string) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	var errs []error
	counter := func(name, help string) metrics.Counter {
		cv := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: subsystem, Name: name, Help: help}, nil)
		errs = append(errs, reg.Register(cv))
		return kitprometheus.NewCounter(cv)
	}
	m := &Metrics{
		Calls:           counter("retry_calls_total", "Calls to the retrying endpoint."),
		Attempts:        counter("retry_attempts_total", "Attempts started: first attempts, retries and hedges."),
		Retries:         counter("retry_retries_total", "Attempts started after a failed one."),
		BudgetExhausted: counter("retry_budget_exhausted_total", "Calls ended because the retry budget was spent."),
		Hedges:          counter("retry_hedges_total", "Hedged attempts started."),
		HedgeWins:       counter("retry_hedge_wins_total", "Calls whose successful attempt was a hedge."),
		HedgesCapped:    counter("retry_hedges_capped_total", "Hedges not started because of the hedge cap."),
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("retry: registering metrics: %w", err)
	}
	return m, nil
}

// NewStatsdMetrics builds every retry metric on a go-kit statsd sender,
// named prefix + NAME. The caller runs the sender's SendLoop or WriteLoop.
func NewStatsdMetrics(s *statsd.Statsd, prefix string) (*Metrics, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil statsd sender", ErrInvalidArgument)
	}
	return &Metrics{
		Calls:           s.NewCounter(prefix+"retry.calls", 1),
		Attempts:        s.NewCounter(prefix+"retry.attempts", 1),
		Retries:         s.NewCounter(prefix+"retry.retries", 1),
		BudgetExhausted: s.NewCounter(prefix+"retry.budget_exhausted", 1),
		Hedges:          s.NewCounter(prefix+"retry.hedges", 1),
		HedgeWins:       s.NewCounter(prefix+"retry.hedge_wins", 1),
		HedgesCapped:    s.NewCounter(prefix+"retry.hedges_capped", 1),
	}, nil
}

// WithMetrics makes the Retrier report into m every interval (0 means
// DefaultMetricsInterval) and once more on Close. It starts one goroutine,
// which Close ends.
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
	for _, f := range []*metrics.Counter{&c.Calls, &c.Attempts, &c.Retries, &c.BudgetExhausted, &c.Hedges, &c.HedgeWins, &c.HedgesCapped} {
		if *f == nil {
			*f = discard.NewCounter()
		}
	}
	return &c
}

// reporter copies a Retrier's counters into Metrics.
type reporter struct {
	r    *Retrier
	m    *Metrics
	last Stats
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func startReporter(r *Retrier, m *Metrics, every time.Duration) *reporter {
	rep := &reporter{r: r, m: m, done: make(chan struct{})}
	rep.wg.Add(1)
	go func() {
		defer rep.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				rep.report()
			case <-rep.done:
				return
			}
		}
	}()
	return rep
}

// stop ends the goroutine and reports one last time. It is idempotent.
func (rep *reporter) stop() {
	rep.once.Do(func() {
		close(rep.done)
		rep.wg.Wait()
		rep.report()
	})
}

func (rep *reporter) report() {
	now := rep.r.Stats()
	add := func(c metrics.Counter, cur, prev uint64) {
		if cur > prev {
			c.Add(float64(cur - prev))
		}
	}
	prev := rep.last
	add(rep.m.Calls, now.Calls, prev.Calls)
	add(rep.m.Attempts, now.Calls+now.Retries+now.Hedges, prev.Calls+prev.Retries+prev.Hedges)
	add(rep.m.Retries, now.Retries, prev.Retries)
	add(rep.m.BudgetExhausted, now.BudgetExhausted, prev.BudgetExhausted)
	add(rep.m.Hedges, now.Hedges, prev.Hedges)
	add(rep.m.HedgeWins, now.HedgeWins, prev.HedgeWins)
	add(rep.m.HedgesCapped, now.HedgesCapped, prev.HedgesCapped)
	rep.last = now
}
