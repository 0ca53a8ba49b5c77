// Package instancehost makes a host set's host for a discovered instance:
// the one place that turns a publisher.Instance's weight, priority, zone
// and metadata into a strategy.Host's, for the balancer's endpoint cache
// and for pooling.Service alike.
package instancehost

import (
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// New returns a host of set for in, with its effective weight, priority,
// zone and metadata. A new host has priority 0, no zone and no metadata,
// so only what differs is set: SetZone and SetMetadata allocate even for
// empty values.
func New[T any](set *strategy.HostSet[T], in publisher.Instance) *strategy.Host {
	h := set.NewHost(in.Address, in.EffectiveWeight())
	if in.Priority != 0 {
		h.SetPriority(in.Priority)
	}
	if in.Zone != "" {
		h.SetZone(in.Zone)
	}
	if in.Metadata != nil {
		h.SetMetadata(in.Metadata)
	}
	return h
}
