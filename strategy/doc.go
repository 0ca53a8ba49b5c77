// Package strategy holds what lbkit knows about each backend and the
// algorithms that choose one backend per request, and the host set that
// puts the two together.
//
// Host is the live record of one backend: calls in flight, a time-decayed
// success score, time-decayed and peak-sensitive latency averages, a weight
// and a priority. It is updated concurrently by every call through the
// backend (Begin, then Record), with atomics for what the pick path reads
// and a per-host lock, never one shared by all requests, for the decayed
// sums. HostStats is its snapshot.
//
// A Strategy sees only hosts, never endpoints or connections. Following
// grpc-go's balancer/picker split, the expensive work happens when the host
// set changes (Strategy.NewPicker), and the per-request Picker.Pick is a few
// loads and allocates nothing. Each strategy is a typed config value whose
// zero value means its documented defaults, validated once by the HostSet:
// Random and RoundRobin (optionally weighted) ignore outcomes;
// LeastInFlight reads only load; PeakEWMA (the recommended default) reads
// peak latency, load and the recent failure rate; the bandits
// (EpsilonGreedy, Softmax, Thompson) read the recent score, UCB1 the
// long-window score, and all four the load of the hosts they draw; the
// recent record forgets by how often a host is seen, not only by the clock
// (WithMaxObservations); WeightedRoundRobin reads the load the backends
// report themselves (Host.ReportLoad, fed by package orca), as gRPC's
// weighted_round_robin.
//
// HostSet is lbkit's one host-set core: hosts with their statistics, the
// picker over them, a pick that skips hosts a request already tried, and
// through Host.Record the one place where an outcome is scored (Scorer) and
// where a caller's cancellation is told from a host's failure. The load
// balancer picks endpoints with it; pooling.Service picks connection pools.
// Hosts of different priorities are failover tiers, and with a local zone
// (WithLocalZone) hosts are preferred in their zone, both as Envoy does it
// and under every strategy: the strategy picks within the group (tier, or
// zone of a tier) that one draw by the groups' shares chose (tier.go).
//
// Two options make the set itself steer picks, under any strategy:
// WithOutlierEjection (Envoy's outlier detection: a host failing calls in a
// row, or far below its peers' success rate, is ejected for a growing time,
// never more than a share of the set, and a set with too few healthy hosts
// ignores ejection) and WithSlowStart (a host that joins, or returns from
// ejection, ramps up to its full share). The pick reads one atomic word per
// picked host for them, and picks again when the host is ejected or a
// ramping host's share says so.
//
// Every invalid argument is an error wrapping ErrInvalidArgument. The
// package starts no goroutines but WeightedRoundRobin's short-lived weight
// rebuild, which ends by itself.
package strategy
