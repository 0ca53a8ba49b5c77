package loadbalancer

import (
	"github.com/seed41aebe0c/lbkit/endpointcache"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// NewPeakEWMA returns a balancer that picks instances with
// strategy.PeakEWMA: the cheaper of two random instances, by peak-sensitive
// latency times requests in flight, with instances that fail made
// expensive. It is lbkit's recommended balancer when instances may fail or
// slow down: it moves traffic away from a bad instance within a second or two
// and back within seconds of its recovery, and it spreads concurrent requests
// by load. The hosts' short window (strategy.WithShortWindow, passed with
// WithStatsOptions) sets how fast it forgets; for other settings use New with
// strategy.NewPeakEWMA.
func NewPeakEWMA(p publisher.Publisher, f endpointcache.Factory, opts ...Option) (*Balancer, error) {
	return New(p, f, strategy.PeakEWMA(), opts...)
}

// NewP2C returns a balancer that picks the instance with fewer requests in
// flight of two chosen at random (strategy.P2C). It balances load well but
// does not see errors or latency: prefer NewPeakEWMA unless every instance is
// known to be healthy.
func NewP2C(p publisher.Publisher, f endpointcache.Factory, opts ...Option) (*Balancer, error) {
	return New(p, f, strategy.P2C(), opts...)
}
