// Package subset gives each client of a large fleet its own small set of
// backends (deterministic subsetting), so that N clients over M backends
// keep N·d connections instead of N·M, while every backend still gets the
// same number of clients and the same load.
//
// Assign is the whole algorithm, a pure function of the backend addresses,
// the client's rank and count, and the subset size d. The backends sit
// evenly spaced on a ring in the order of a stable hash of their
// addresses; the clients sit evenly spaced on the same ring; each client
// takes the d backends that follow its place (Finagle's deterministic
// aperture, with whole backends). So every backend has ⌊N·d/M⌋ or
// ⌈N·d/M⌉ clients, and a client that spreads its requests evenly over
// its subset (round-robin, or any strategy on equal backends) gives every
// backend the same load within that ±1. Every client computes the same
// ring from the same addresses, with no coordination beyond its
// coordinate.
//
// When the backends change, the ring is respaced: a backend leaving moves
// its own N·d/M clients and a quarter to a third of the others by one
// backend (each client changes at most one backend); a backend joining
// moves about as many. That is about three times the minimum, and a small
// fraction of what a reshuffle moves (Google's SRE-book algorithm, or any
// design that reshuffles on change, moves nearly all N·d pairs). Designs
// that move only the minimum (consistent hashing, gRPC A68's random
// subsetting) leave backends with half or twice the fair share of
// clients.
//
// That is the other design, LowChurn (AssignLowChurn, chosen with
// WithDesign): rendezvous hashing salted by the client's name, which
// moves exactly the minimum (a backend leaving moves only its clients, a
// client coming or going moves no one else) and leaves the balance to
// chance. No design has both for every backend set; docs/subsetting.md
// proves it and has the figures of both, from
// go run ./examples/simulate/subsetting.
//
// New wraps a backend publisher.Publisher into one that publishes only
// this client's subset, so it goes in front of loadbalancer.New (with
// pooling.Factory or any other factory under it) unchanged. The client's coordinate is either Fixed
// (a rank and count the deployment gives, such as a StatefulSet ordinal)
// or found from Peers: the clients register themselves (with the
// registrar of package consul or etcd, say) and each one's rank among the
// sorted peer IDs is its coordinate, which follows the peers as they come
// and go. Stats reports the rank, count and subset in force; SetMetrics
// records them, with the backends that entered or left the subset (package
// lbmetrics builds the metrics).
//
// Every invalid argument is an error wrapping ErrInvalidArgument, which
// wraps publisher.ErrInvalidArgument.
package subset
