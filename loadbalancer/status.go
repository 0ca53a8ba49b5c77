package loadbalancer

import "time"

// Status is a point-in-time view of a balancer.
type Status struct {
	// Strategy is the strategy's name.
	Strategy string
	// Hosts lists every live instance, in discovery order.
	Hosts []HostStatus
	// DiscoveryErr is the discovery error in force, if any.
	DiscoveryErr error
	// Version increases with every change of the live set.
	Version uint64
}

// HostStatus is one instance's statistics at the time of the snapshot.
type HostStatus struct {
	Address  string
	Weight   int
	Priority int
	Metadata map[string]string
	// InFlight is the number of calls under way.
	InFlight int64
	// Score is the time-decayed mean outcome score in [0,1].
	Score float64
	// Latency is the time-decayed mean latency.
	Latency time.Duration
	// Requests and Failures count completed calls since the instance
	// appeared.
	Requests, Failures uint64
}

// Status returns the current state of every live instance. It allocates;
// call it from status pages and tests, not per request.
func (b *Balancer) Status() Status {
	st := b.state.Load()
	out := Status{
		Strategy:     b.strategy.Name(),
		Hosts:        make([]HostStatus, len(st.snap.Entries)),
		DiscoveryErr: st.snap.Err,
		Version:      st.snap.Version,
	}
	for i, e := range st.snap.Entries {
		s := e.Stats
		out.Hosts[i] = HostStatus{
			Address:  e.Instance.Address,
			Weight:   s.Weight(),
			Priority: e.Instance.Priority,
			Metadata: e.Instance.Metadata,
			InFlight: s.InFlight(),
			Score:    s.Score(),
			Latency:  s.Latency(),
			Requests: s.Requests(),
			Failures: s.Failures(),
		}
	}
	return out
}
