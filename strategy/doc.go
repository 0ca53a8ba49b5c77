// Package strategy holds what lbkit knows about each backend and the
// algorithms that choose one backend per request.
//
// Stats is the live record of one backend: requests in flight, a
// time-decayed success score, a time-decayed latency average and a weight.
// It is updated concurrently by every call through the backend, with atomics
// for what the pick path reads and a per-backend lock (never one shared by all
// requests) for the decayed sums.
//
// A Strategy sees only Stats, never endpoints or connections, so the same
// strategies serve the load balancer (which picks endpoints) and the
// connection pools (which pick hosts). Following grpc-go's balancer/picker
// split, the expensive work happens when the host set changes
// (Strategy.NewPicker), and the per-request Picker.Pick is a few loads and
// allocates nothing.
//
// Random and RoundRobin (and their weighted forms) ignore outcomes. The
// learning strategies read what Stats has learnt: the bandits
// (NewEpsilonGreedy, NewSoftmax, NewUCB1, NewThompson) the long-window score
// and observation counts, PeakEWMA (the recommended default) the short-window
// peak latency and recent failure rate, and NewLeastInFlight / P2C only the
// in-flight counts. Constructors return errors wrapping ErrInvalidArgument
// for bad parameters.
package strategy
