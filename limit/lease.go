package limit

import "sync/atomic"

// Lease is the right to one unit of a key's target. Hold it while the work
// runs and release it when the work ends.
type Lease[K comparable] struct {
	lim      *Limiter[K]
	g        *group[K]
	id       uint64
	released atomic.Bool
}

// IsZero reports whether l is no lease: nil, or the zero Lease. It is
// workpool's Lease.IsZero; here leases are pointers, and a receive from the
// Leases channel after Close gives nil.
func (l *Lease[K]) IsZero() bool { return l == nil || l.g == nil }

// Key returns the key the lease belongs to.
func (l *Lease[K]) Key() K { return l.g.key }

// ID returns a number that no other lease of the same limiter has.
func (l *Lease[K]) ID() uint64 { return l.id }

// Release gives the lease back, so that a waiting Acquire or the Leases
// channel can hand it out again. Calling it more than once does nothing.
func (l *Lease[K]) Release() {
	if l.released.CompareAndSwap(false, true) {
		l.lim.release(l)
	}
}
