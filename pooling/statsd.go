package pooling

import (
	"github.com/go-kit/kit/metrics"
	"github.com/go-kit/kit/metrics/statsd"
)

// NewStatsdMetrics builds all nine of pooly's metrics on a go-kit statsd
// sender, under pooly's own names (hosts.score, conns.get.delay, ...)
// after prefix, as pooly sent them. Delays and periods are statsd timings in
// milliseconds, as in pooly. sampleRate (0 < rate ≤ 1) is what pooly's
// SetStatsdSampleRate set: the share of counter and timing events sent. The
// caller runs the sender's SendLoop or WriteLoop.
func NewStatsdMetrics(s *statsd.Statsd, prefix string, sampleRate float64) (*Metrics, error) {
	if s == nil {
		return nil, invalid("nil statsd sender")
	}
	if !(sampleRate > 0 && sampleRate <= 1) {
		return nil, invalid("statsd sample rate %v, want (0, 1]", sampleRate)
	}
	return &Metrics{
		HostsScore:        s.NewGauge(prefix + MetricHostsScore),
		HostsCount:        s.NewGauge(prefix + MetricHostsCount),
		ConnsCount:        s.NewGauge(prefix + MetricConnsCount),
		ConnsFails:        s.NewCounter(prefix+MetricConnsFails, sampleRate),
		ConnsPutCount:     s.NewCounter(prefix+MetricConnsPutCount, sampleRate),
		ConnsGetCount:     s.NewCounter(prefix+MetricConnsGetCount, sampleRate),
		ConnsGetDelay:     secondsToMillis{s.NewTiming(prefix+MetricConnsGetDelay, sampleRate)},
		ConnsGetFails:     s.NewCounter(prefix+MetricConnsGetFails, sampleRate),
		ConnsActivePeriod: secondsToMillis{s.NewTiming(prefix+MetricConnsActivePeriod, sampleRate)},
	}, nil
}

// secondsToMillis adapts a statsd timing (milliseconds) to the seconds the
// pools observe.
type secondsToMillis struct{ t *statsd.Timing }

func (s secondsToMillis) With(labelValues ...string) metrics.Histogram {
	return secondsToMillis{s.t.With(labelValues...).(*statsd.Timing)}
}

func (s secondsToMillis) Observe(seconds float64) { s.t.Observe(seconds * 1000) }
