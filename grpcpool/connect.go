package grpcpool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/connectivity"
)

// ErrUnreachable is wrapped by the error New returns when WithConnectTimeout
// is set and no connection became READY in time; compare with errors.Is.
var ErrUnreachable = errors.New("grpcpool: target unreachable")

// WithConnectTimeout makes New connect at once and wait up to d for at least
// one connection to be READY, so that an unreachable target (a wrong port,
// a server that is down) is an error from New, as the reference's blocking
// dial reported it, rather than from the first call. The error wraps
// ErrUnreachable and names the connections' states; the pool is closed.
// Without this option (the default), New returns at once, as
// grpc.NewClient does, and the connections connect in the background.
func WithConnectTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: connect timeout %v must be positive", ErrInvalidArgument, d)
		}
		c.connectTimeout = d
		return nil
	}
}

// awaitReady connects every connection and waits until one is READY or d
// has passed. It polls the states the watchers keep: a READY connection is
// seen within a few milliseconds, and New is not a hot path.
func (p *Pool) awaitReady(d time.Duration) error {
	conns := *p.conns.Load()
	for _, c := range conns {
		c.cc.Connect()
	}
	ctx, cancel := context.WithTimeout(p.ctx, d)
	defer cancel()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, c := range conns {
			if connectivity.State(c.state.Load()) == connectivity.Ready {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			states := make([]string, len(conns))
			for i, c := range conns {
				states[i] = c.cc.GetState().String()
			}
			return fmt.Errorf("%w: %s: no connection ready within %v (%s)", ErrUnreachable, p.target, d, strings.Join(states, ", "))
		case <-tick.C:
		}
	}
}
