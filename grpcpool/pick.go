package grpcpool

import (
	"math/rand/v2"
	"slices"

	"google.golang.org/grpc/connectivity"
)

// sampleSize is how many connections a pick compares. Three random
// candidates get most of the benefit of looking at all of them (the "power
// of choices") at a constant cost however large the pool grows.
const sampleSize = 3

// Ranks of connection states, best first.
const (
	rankReady = iota
	rankIdle  // usable: an RPC on it starts a connection
	rankOther // connecting, failing or shut down
)

func rank(c *conn) int {
	switch connectivity.State(c.state.Load()) {
	case connectivity.Ready:
		return rankReady
	case connectivity.Idle:
		return rankIdle
	default:
		return rankOther
	}
}

// better reports whether c (of rank r) beats best (of rank br).
func better(c *conn, r int, best *conn, br int) bool {
	if best == nil || r != br {
		return best == nil || r < br
	}
	return c.inflight.Load() < best.inflight.Load()
}

// pick returns the least loaded of a random sample of conns, preferring
// READY over IDLE over the rest; when the sample holds no READY connection
// it looks at every connection for the least loaded READY (else IDLE) one.
// A pool of at most sampleSize connections is looked at whole. It skips the
// connections in exclude, and returns nil only when nothing else is left.
// It takes no lock and allocates nothing.
func pick(conns []*conn, exclude []*conn) (*conn, int) {
	n := len(conns)
	var best *conn
	br := rankOther
	if n <= sampleSize {
		// Look at all of them, from a random start so that ties spread.
		off := rand.IntN(n)
		for k := range n {
			c := conns[(off+k)%n]
			if slices.Contains(exclude, c) {
				continue
			}
			if r := rank(c); better(c, r, best, br) {
				best, br = c, r
			}
		}
		return best, br
	}
	for range sampleSize {
		c := conns[rand.IntN(n)]
		if slices.Contains(exclude, c) {
			continue
		}
		if r := rank(c); better(c, r, best, br) {
			best, br = c, r
		}
	}
	if best != nil && br == rankReady {
		return best, br
	}
	off := rand.IntN(n)
	for k := range n {
		c := conns[(off+k)%n]
		if slices.Contains(exclude, c) {
			continue
		}
		if r := rank(c); better(c, r, best, br) {
			best, br = c, r
		}
	}
	return best, br
}
