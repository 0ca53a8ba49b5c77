package loadbalancer

import (
	"fmt"
	"slices"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// Status is a point-in-time view of a balancer.
type Status struct {
	// Strategy is the strategy's name.
	Strategy string
	// Hosts lists every live instance with its statistics (its Metadata is
	// what discovery said about it), in discovery order.
	Hosts []strategy.HostStats
	// DiscoveryErr is the discovery error in force, if any: the first of
	// the current spell of failures (go-kit keeps its first error too),
	// wrapped with ErrInvalidated once the endpoints have been dropped.
	DiscoveryErr error
	// InvalidInstances, when not nil, describes the instances the last
	// discovery event offered that failed validation and were left out
	// (publisher.Event.Invalid, a *publisher.InvalidError).
	InvalidInstances error
	// FactoryFailures lists the instances of the last discovery update that
	// have no endpoint because their factory call failed, in discovery
	// order. Hosts and FactoryFailures together are every instance
	// discovery reported. Each is tried again on the next update, and
	// after FactoryRetryMin, doubling up to FactoryRetryMax, until it
	// succeeds.
	FactoryFailures []FactoryFailure
	// FactoryErrors counts the factory calls that failed since New.
	FactoryErrors uint64
	// Version increases with every change of the live set.
	Version uint64
	// Source names the publisher: its String method's result if it has
	// one, else its type, such as "*static.Publisher".
	Source string
	// LastUpdate is when discovery last published instances (zero before
	// its first event); an event that changed nothing counts too.
	LastUpdate time.Time
	// ErrorSince is when DiscoveryErr began (zero without one).
	ErrorSince time.Time
	// Health counts the hosts ejected as outliers and those ramping up
	// (strategy.WithOutlierEjection and strategy.WithSlowStart, passed with
	// WithHostOptions), says whether the balancer is in panic, and counts
	// its ejections; each host's own state is in its HostStats.
	Health strategy.SetHealth
	// Groups are the priority tiers (and their zones, with zone-aware
	// routing) with the share of requests each is given; nil while every
	// instance has one priority and zone-aware routing is off. See
	// strategy.HostSet.
	Groups []strategy.GroupStats
}

// FactoryFailure is an instance without an endpoint because its factory
// call failed: Err is the factory's error, ErrNilEndpoint for a nil
// endpoint, or an error naming the panic for a factory that panicked.
type FactoryFailure struct {
	Address string
	Err     error
}

// Status returns the current state of every live instance. It allocates;
// call it from status pages and tests, not per request.
func (b *Balancer) Status() Status {
	v := b.view.Load()
	out := Status{
		Strategy:         b.set.Strategy().Name(),
		Hosts:            make([]strategy.HostStats, len(v.hosts)),
		DiscoveryErr:     v.err,
		InvalidInstances: v.invalid,
		FactoryFailures:  slices.Clone(v.failed),
		FactoryErrors:    v.nFailed,
		Version:          v.version,
		Source:           b.source,
		ErrorSince:       v.since,
		Health:           b.set.Health(),
		Groups:           b.set.Groups(),
	}
	if t := b.cache.lastUpdate.Load(); t != 0 {
		out.LastUpdate = time.Unix(0, t)
	}
	for i, h := range v.hosts {
		out.Hosts[i] = h.Stats()
	}
	return out
}

// sourceName is Status.Source for publisher p.
func sourceName(p any) string {
	if s, ok := p.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", p)
}
