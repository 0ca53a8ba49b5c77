package publisher

import (
	"github.com/go-kit/kit/metrics"
	"github.com/go-kit/kit/metrics/discard"
)

// Metrics are a publisher's discovery metrics, through go-kit's metrics
// interfaces; package lbmetrics builds them for Prometheus and statsd, with
// the service's name as a label. Nil fields are discarded. Attach them with the SetMetrics
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
// turns recording off. The current state, if any, is recorded at once,
// and every counter is initialised with zero.
func (f *Fanout) SetMetrics(m *Metrics) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m == nil {
		f.metrics = nil
		return
	}
	f.metrics = m.withDefaults()
	// Every counter shows a series at zero at once, for alerts.
	f.metrics.Updates.Add(0)
	f.metrics.Errors.Add(0)
	f.metrics.Invalid.Add(0)
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
