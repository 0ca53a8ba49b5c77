package publisher

import (
	"fmt"
	"maps"
)

// DefaultWeight is the weight of an instance whose discovery system does not
// give one (Instance.Weight == 0).
const DefaultWeight = 1

// Instance is one reachable copy of a remote service.
//
// Address is the identity of an instance: two instances with the same Address
// are the same instance, whatever their other fields say. The remaining fields
// are hints that strategies may honour.
type Instance struct {
	// Address is what the endpoint factory receives, typically "host:port"
	// (IPv6 hosts in brackets: "[::1]:8080").
	Address string
	// Weight is the relative share of traffic this instance should get
	// under weighted strategies. Zero means DefaultWeight.
	Weight int
	// Priority orders groups of instances as in DNS SRV: lower is preferred.
	Priority int
	// Metadata carries what the discovery system knows about the instance
	// (tags, zone, version). It must not be modified after publication.
	Metadata map[string]string
}

// EffectiveWeight returns Weight, or DefaultWeight when Weight is zero.
func (i Instance) EffectiveWeight() int {
	if i.Weight == 0 {
		return DefaultWeight
	}
	return i.Weight
}

// Validate reports whether the instance can be used: a non-empty address and a
// non-negative weight. The returned error wraps ErrInvalidArgument.
func (i Instance) Validate() error {
	if i.Address == "" {
		return fmt.Errorf("%w: instance with an empty address", ErrInvalidArgument)
	}
	if i.Weight < 0 {
		return fmt.Errorf("%w: instance %s: negative weight %d", ErrInvalidArgument, i.Address, i.Weight)
	}
	return nil
}

// Equal reports whether two instances have the same address, weight,
// priority and metadata.
func (i Instance) Equal(o Instance) bool {
	return i.Address == o.Address && i.Weight == o.Weight && i.Priority == o.Priority &&
		maps.Equal(i.Metadata, o.Metadata)
}

// Addresses returns the addresses of instances, in order.
func Addresses(instances []Instance) []string {
	out := make([]string, len(instances))
	for n, in := range instances {
		out[n] = in.Address
	}
	return out
}

// FromAddresses returns one Instance per address with default weight and
// priority.
func FromAddresses(addresses ...string) []Instance {
	out := make([]Instance, len(addresses))
	for n, a := range addresses {
		out[n] = Instance{Address: a}
	}
	return out
}

// Event is a complete description of a service's instances at one moment, or
// a failure to obtain one.
//
// When Err is nil, Instances is the whole current set (possibly empty). When
// Err is not nil, the discovery backend could not be read; Instances is then
// the last known set, which consumers may keep using (see the
// endpointcache package for the policy).
//
// Instances is shared between all subscribers and must not be modified.
type Event struct {
	Instances []Instance
	Err       error
}
