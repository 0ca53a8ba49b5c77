package strategy

import (
	"context"
	"time"
)

// DefaultMetricsInterval is how often lbkit copies live host statistics
// into metrics: the balancer (loadbalancer.WithMetrics) and a pooling
// Service (pooling.WithMetricsInterval) sample their hosts this often, and
// once more when closed, so that the request path never pays for counters
// and gauges.
const DefaultMetricsInterval = time.Second

// RecordTimed is Record that also returns the call's latency, from the
// same clock reading, for a caller that observes it into a histogram: the
// latency costs no second reading of the clock.
func (s *Host) RecordTimed(ctx context.Context, start Start, err error) time.Duration {
	now := s.clock()
	s.recordAt(ctx, start, err, now)
	return time.Duration(now - int64(start))
}
