package publisher

import (
	"errors"
	"fmt"

	"github.com/go-kit/kit/metrics"
	"github.com/go-kit/kit/metrics/discard"
	kitprometheus "github.com/go-kit/kit/metrics/prometheus"
	"github.com/go-kit/kit/metrics/statsd"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are a publisher's discovery metrics, through go-kit's metrics
// interfaces. Nil fields are discarded. Attach them with the SetMetrics
// method of an lbkit publisher, or Fanout.SetMetrics in a custom one.
type Metrics struct {
	// Updates counts events published, errors included.
	Updates metrics.Counter
	// Errors counts events that carried a discovery error.
	Errors metrics.Counter
	// Instances is the number of instances in the latest event.
	Instances metrics.Gauge
	// Invalid counts instances left out of events because they failed
	// validation (see ValidateAll).
	Invalid metrics.Counter
}

// NewPrometheusMetrics builds the discovery metrics as Prometheus collectors
// registered with reg (prometheus.DefaultRegisterer if nil), named
// namespace_subsystem_NAME.
func NewPrometheusMetrics(reg prometheus.Registerer, namespace, subsystem string) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	updates := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: subsystem,
		Name: "discovery_updates_total", Help: "Discovery events published."}, nil)
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: subsystem,
		Name: "discovery_errors_total", Help: "Discovery events that carried an error."}, nil)
	instances := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Subsystem: subsystem,
		Name: "discovery_instances", Help: "Instances in the latest discovery event."}, nil)
	invalid := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: subsystem,
		Name: "discovery_invalid_instances_total", Help: "Instances left out of discovery events because they failed validation."}, nil)
	if err := errors.Join(reg.Register(updates), reg.Register(errs), reg.Register(instances), reg.Register(invalid)); err != nil {
		return nil, fmt.Errorf("publisher: registering metrics: %w", err)
	}
	return &Metrics{
		Updates:   kitprometheus.NewCounter(updates),
		Errors:    kitprometheus.NewCounter(errs),
		Instances: kitprometheus.NewGauge(instances),
		Invalid:   kitprometheus.NewCounter(invalid),
	}, nil
}

// NewStatsdMetrics builds the discovery metrics on a go-kit statsd sender,
// named prefix + NAME. The caller runs the sender's SendLoop or WriteLoop.
func NewStatsdMetrics(s *statsd.Statsd, prefix string) (*Metrics, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil statsd sender", ErrInvalidArgument)
	}
	return &Metrics{
		Updates:   s.NewCounter(prefix+"discovery_updates", 1),
		Errors:    s.NewCounter(prefix+"discovery_errors", 1),
		Instances: s.NewGauge(prefix + "discovery_instances"),
		Invalid:   s.NewCounter(prefix+"discovery_invalid_instances", 1),
	}, nil
}

func (m *Metrics) withDefaults() *Metrics {
	c := *m
	if c.Updates == nil {
		c.Updates = discard.NewCounter()
	}
	if c.Errors == nil {
		c.Errors = discard.NewCounter()
	}
	if c.Instances == nil {
		c.Instances = discard.NewGauge()
	}
	if c.Invalid == nil {
		c.Invalid = discard.NewCounter()
	}
	return &c
}

// SetMetrics makes the fanout record every later Publish into m. A nil m
// turns recording off. The current state, if any, is recorded at once.
func (f *Fanout) SetMetrics(m *Metrics) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m == nil {
		f.metrics = nil
		return
	}
	f.metrics = m.withDefaults()
	if f.has {
		f.metrics.Instances.Set(float64(len(f.cur.Instances)))
	}
}

// record is called by Publish with f.mu held.
func (f *Fanout) record(ev Event, ie *InvalidError) {
	if f.metrics == nil {
		return
	}
	if ie != nil {
		f.metrics.Invalid.Add(float64(ie.Dropped))
	}
	f.metrics.Updates.Add(1)
	if ev.Err != nil {
		f.metrics.Errors.Add(1)
	}
	f.metrics.Instances.Set(float64(len(ev.Instances)))
}
