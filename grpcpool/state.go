package grpcpool

import "google.golang.org/grpc/connectivity"

// State is a point-in-time view of a pool.
type State struct {
	// Target is what the pool dials.
	Target string
	// Size is the current number of connections.
	Size int
	// Conns describes each connection, in the order they were opened.
	Conns []ConnState
	// InFlight is the number of calls and streams under way on all
	// connections.
	InFlight int64
	// ScaleOut tells whether scale-out is on; Scale holds its settings in
	// force (defaults filled in) either way.
	ScaleOut bool
	Scale    ScaleConfig
	// Closed tells whether Close has been called.
	Closed bool
}

// ConnState is one connection's part of a State.
type ConnState struct {
	// State is the connection's grpc connectivity state.
	State connectivity.State
	// InFlight is the number of calls and streams under way on it.
	InFlight int64
}

// State returns a snapshot of the pool. It allocates; call it from status
// pages and tests, not per request.
func (p *Pool) State() State {
	conns := *p.conns.Load()
	st := State{
		Target:   p.target,
		Size:     len(conns),
		Conns:    make([]ConnState, len(conns)),
		ScaleOut: p.cfg.scaleOut,
		Scale:    p.cfg.scale,
		Closed:   p.closed.Load(),
	}
	for i, c := range conns {
		n := c.inflight.Load()
		st.Conns[i] = ConnState{State: c.cc.GetState(), InFlight: n}
		st.InFlight += n
	}
	return st
}
