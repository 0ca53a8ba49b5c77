package grpcpool

import (
	"errors"
	"sync"
)

// Cache keeps one Pool per target, made on first use: the reference's
// GetGrpcPool, without its package-level state. Declare one where the
// reference's global map was (var pools grpcpool.Cache) and Close it at
// shutdown. The zero Cache is ready to use and safe for concurrent use.
type Cache struct {
	mu     sync.Mutex
	pools  map[string]*cached
	closed bool
}

type cached struct {
	ready chan struct{} // closed once p and err are set
	p     *Pool
	err   error
}

// Get returns the cache's pool for target, making it with New(target,
// opts...) if there is none, or if the one there was closed. Options count
// only when a pool is made: later Gets of the target share the first
// pool, whatever options they pass. Concurrent Gets of one target make one
// pool; a Get waiting for New (WithConnectTimeout) holds up only Gets of
// the same target. A failed New is not cached: the next Get tries again.
// After Close, Get returns ErrClosed.
func (c *Cache) Get(target string, opts ...Option) (*Pool, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if e := c.pools[target]; e != nil {
		c.mu.Unlock()
		<-e.ready
		if e.err == nil && !e.p.closed.Load() {
			return e.p, nil
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		if c.pools[target] == e {
			delete(c.pools, target)
		}
		c.mu.Unlock()
		return c.Get(target, opts...)
	}
	e := &cached{ready: make(chan struct{})}
	if c.pools == nil {
		c.pools = map[string]*cached{}
	}
	c.pools[target] = e
	c.mu.Unlock()

	e.p, e.err = New(target, opts...)
	close(e.ready)
	if e.err != nil {
		c.mu.Lock()
		if c.pools[target] == e {
			delete(c.pools, target)
		}
		c.mu.Unlock()
		return nil, e.err
	}
	return e.p, nil
}

// Close closes every pool in the cache and makes later Gets fail with
// ErrClosed. It waits for pools being made meanwhile and closes them too.
// It returns the pools' errors joined; a second Close returns nil.
func (c *Cache) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	pools := c.pools
	c.pools = nil
	c.mu.Unlock()
	var errs []error
	for _, e := range pools {
		<-e.ready
		if e.err == nil {
			errs = append(errs, e.p.Close())
		}
	}
	return errors.Join(errs...)
}
