package lbmetrics

import (
	"fmt"

	"github.com/go-kit/kit/metrics/statsd"

	"github.com/seed41aebe0c/lbkit/pooling"
)

// NewPoolyStatsd builds a pool's metrics on a go-kit statsd sender under
// pooly's own names after prefix (hosts.score, hosts.count, conns.count,
// conns.fails, conns.put.count, conns.get.count, conns.get.delay,
// conns.get.fails, conns.active.period: the pooling.Metric... constants),
// as pooly sent them, so that dashboards built for pooly keep working.
// Delays and periods are timings in milliseconds and hosts.score is a
// percentage, as in pooly. sampleRate (0 < rate ≤ 1) is what pooly's
// SetStatsdSampleRate set: the share of counter and timing events sent.
// The caller runs the sender's SendLoop or WriteLoop (pooly's one
// StatsdAddr field becomes that loop: lbkit opens no socket of its own).
// New code should prefer NewStatsd(...).Service(name).Pool.
//
// A nil sender or a rate outside (0, 1] is an error wrapping
// ErrInvalidArgument.
func NewPoolyStatsd(s *statsd.Statsd, prefix string, sampleRate float64) (*pooling.Metrics, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil statsd sender", ErrInvalidArgument)
	}
	if !(sampleRate > 0 && sampleRate <= 1) {
		return nil, fmt.Errorf("%w: statsd sample rate %v, want (0, 1]", ErrInvalidArgument, sampleRate)
	}
	return &pooling.Metrics{
		HostsScore:        s.NewGauge(prefix + pooling.MetricHostsScore),
		HostsCount:        s.NewGauge(prefix + pooling.MetricHostsCount),
		ConnsCount:        s.NewGauge(prefix + pooling.MetricConnsCount),
		ConnsFails:        s.NewCounter(prefix+pooling.MetricConnsFails, sampleRate),
		ConnsPutCount:     s.NewCounter(prefix+pooling.MetricConnsPutCount, sampleRate),
		ConnsGetCount:     s.NewCounter(prefix+pooling.MetricConnsGetCount, sampleRate),
		ConnsGetDelay:     millis{s.NewTiming(prefix+pooling.MetricConnsGetDelay, sampleRate)},
		ConnsGetFails:     s.NewCounter(prefix+pooling.MetricConnsGetFails, sampleRate),
		ConnsActivePeriod: millis{s.NewTiming(prefix+pooling.MetricConnsActivePeriod, sampleRate)},
	}, nil
}
