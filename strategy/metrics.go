package strategy

import "time"

// DefaultMetricsInterval is how often lbkit copies live host statistics
// into metrics: the balancer (loadbalancer.WithMetrics) and a pooling
// Service (pooling.WithMetricsInterval) sample their hosts this often, and
// once more when closed, so that the request path never pays for counters
// and gauges.
const DefaultMetricsInterval = time.Second

// Since returns the time since start on the host's clock: the latency of a
// call begun with Begin, for a caller that observes it into a histogram. It
// reads the clock once and allocates nothing.
func (s *Host) Since(start Start) time.Duration { return time.Duration(s.clock() - int64(start)) }
