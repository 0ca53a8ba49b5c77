package endpointcache

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// Factory turns an instance address into an endpoint and a closer that
// releases what the endpoint holds (connections, pools). The closer may be
// nil. It has exactly the signature of go-kit's sd.Factory.
type Factory func(instance string) (endpoint.Endpoint, io.Closer, error)

// Middleware decorates the endpoint of a new instance once, when the cache
// creates it. The load balancer uses it to record every call's outcome into
// the instance's Stats.
type Middleware func(in publisher.Instance, ep endpoint.Endpoint, stats *strategy.Stats) endpoint.Endpoint

// Decorator is a Middleware that also attaches a value to the entry it
// decorates (Entry.Value): the object behind the new endpoint, say, for a
// caller that needs more of it than the endpoint function.
type Decorator func(in publisher.Instance, ep endpoint.Endpoint, stats *strategy.Stats) (endpoint.Endpoint, any)

// Errors returned by the cache.
var (
	// ErrNilFactory is returned by New for a nil Factory.
	ErrNilFactory = errors.New("endpointcache: nil factory")
	// ErrClosed is the Err of every snapshot after Close.
	ErrClosed = errors.New("endpointcache: closed")
	// ErrInvalidated wraps the discovery error once InvalidateOnError's
	// timeout has passed and the endpoints have been dropped.
	ErrInvalidated = errors.New("endpointcache: endpoints invalidated after discovery error")
)

// Entry is one live instance with its endpoint and statistics. Entries are
// immutable; the Stats they point to are live.
type Entry struct {
	Instance publisher.Instance
	Endpoint endpoint.Endpoint
	Stats    *strategy.Stats
	// Value is what the cache's Decorator attached, or nil.
	Value any
}

// Snapshot is the cache's state after one update. It is never modified
// after publication.
type Snapshot struct {
	// Entries are the live instances, in the order discovery gave them.
	Entries []*Entry
	// Hosts holds Entries[i].Stats at index i, ready for a strategy.
	Hosts []*strategy.Stats
	// Err is the discovery error in force, if any. While it is set the
	// entries are the last known ones, or none once invalidated (then Err
	// wraps ErrInvalidated), or none after Close (then Err is ErrClosed).
	Err error
	// Version increases with every snapshot a cache publishes.
	Version uint64
}

// Option configures a Cache.
type Option func(*Cache) error

// InvalidateOnError makes the cache drop (and close) every endpoint once
// discovery has been failing for timeout, as go-kit's sd.InvalidateOnError
// does. A timeout of zero drops them at the first error. By default the
// last known endpoints are kept for as long as discovery fails.
func InvalidateOnError(timeout time.Duration) Option {
	return func(c *Cache) error {
		if timeout < 0 {
			return fmt.Errorf("endpointcache: negative invalidation timeout %v", timeout)
		}
		c.invalidate, c.invalidateAfter = true, timeout
		return nil
	}
}

// WithLogger sets the logger for factory and closer failures. The default
// discards them.
func WithLogger(l log.Logger) Option {
	return func(c *Cache) error {
		if l != nil {
			c.logger = l
		}
		return nil
	}
}

// WithMiddleware decorates every new endpoint with m.
func WithMiddleware(m Middleware) Option {
	return func(c *Cache) error {
		c.middleware = m
		return nil
	}
}

// WithDecorator decorates every new endpoint with d, after any Middleware,
// and keeps the value d returns in the entry.
func WithDecorator(d Decorator) Option {
	return func(c *Cache) error {
		c.decorator = d
		return nil
	}
}

// WithStatsOptions sets the options of the Stats created for each new
// instance (decay window, clock).
func WithStatsOptions(opts ...strategy.StatsOption) Option {
	return func(c *Cache) error {
		c.statsOpts = append(c.statsOpts, opts...)
		return nil
	}
}

// OnUpdate registers f to be called with every new snapshot, after it has
// been published, in the order snapshots are made. f runs while the cache
// holds its update lock: it must not call Update or Close.
func OnUpdate(f func(*Snapshot)) Option {
	return func(c *Cache) error {
		c.onUpdate = f
		return nil
	}
}

// Cache holds one endpoint per live instance. Update and Close may be called
// from any goroutine; Snapshot never blocks.
type Cache struct {
	factory         Factory
	logger          log.Logger
	middleware      Middleware
	decorator       Decorator
	statsOpts       []strategy.StatsOption
	onUpdate        func(*Snapshot)
	invalidate      bool
	invalidateAfter time.Duration

	snap atomic.Pointer[Snapshot]

	mu      sync.Mutex // serialises writers
	items   []*item    // parallel to the current snapshot's Entries
	spare   []*item    // the list before, reused as the next one
	byAddr  map[string]*item
	gen     uint64
	version uint64
	timer   *time.Timer // pending invalidation
	epoch   uint64      // bumps when an error spell ends, to defuse timers
	closed  bool
}

// item is the writer's private record of one cached instance. inst repeats
// entry.Instance so that comparing an update against the live set reads one
// object per instance, not two.
type item struct {
	inst   publisher.Instance
	entry  *Entry
	closer io.Closer
	gen    uint64
}

// New returns an empty cache that makes endpoints with f.
func New(f Factory, opts ...Option) (*Cache, error) {
	if f == nil {
		return nil, ErrNilFactory
	}
	c := &Cache{factory: f, logger: log.NewNopLogger(), byAddr: make(map[string]*item)}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	c.snap.Store(&Snapshot{})
	return c, nil
}

// Snapshot returns the current state. It never blocks and never allocates.
func (c *Cache) Snapshot() *Snapshot { return c.snap.Load() }

// Update applies a discovery event. A successful event makes its instances
// the live set: the factory runs for instances not already live (and for
// those whose factory call failed before), removed instances are closed, and
// instances whose weight, priority or metadata changed keep their endpoint
// and statistics. An event with an error keeps the live set (see
// InvalidateOnError). Update after Close does nothing.
func (c *Cache) Update(ev publisher.Event) {
	var closers []closing
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if ev.Err != nil {
		closers = c.fail(ev.Err)
	} else {
		closers = c.replace(ev.Instances)
	}
	c.mu.Unlock()
	c.closeAll(closers)
}

// Close closes every endpoint and makes the cache refuse further updates.
// Snapshots after Close are empty with Err == ErrClosed. Close is idempotent.
func (c *Cache) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.stopTimer()
	closers := c.dropAll()
	c.publish(nil, ErrClosed)
	c.mu.Unlock()
	return c.closeAll(closers)
}

type closing struct {
	addr   string
	closer io.Closer
}

// replace makes instances the live set. Called with c.mu held.
func (c *Cache) replace(instances []publisher.Instance) []closing {
	changed := len(instances) != len(c.items)
	if c.timer != nil || c.snap.Load().Err != nil {
		c.stopTimer()
		c.epoch++
		changed = true
	}
	c.gen++
	gen := c.gen
	// The previous-but-one list is garbage by now: reuse its array.
	items := c.spare[:0]
	if cap(items) < len(instances) {
		items = make([]*item, 0, len(instances))
	}
	for i := range instances {
		in := &instances[i]
		var it *item
		// Discovery usually returns the same order as last time, so
		// compare by position before paying for a map lookup.
		if i < len(c.items) && c.items[i].inst.Address == in.Address {
			it = c.items[i]
		} else {
			it = c.byAddr[in.Address]
			changed = true
		}
		switch {
		case it == nil:
			if it = c.create(*in); it == nil {
				continue // logged; tried again on the next update
			}
			c.byAddr[in.Address] = it
		case it.gen == gen:
			continue // duplicate address in one event: first wins
		case !sameInstance(&it.inst, in):
			e := *it.entry
			e.Instance = *in
			e.Stats.SetWeight(in.EffectiveWeight())
			it.entry, it.inst = &e, *in
			changed = true
		}
		it.gen = gen
		items = append(items, it)
	}
	var closers []closing
	if len(items) != len(c.byAddr) {
		// Every cached item is in the previous list, so sweeping that
		// slice finds the removed ones without iterating the map.
		for _, it := range c.items {
			if it.gen != gen {
				addr := it.inst.Address
				delete(c.byAddr, addr)
				closers = append(closers, closing{addr, it.closer})
			}
		}
	}
	clear(items[len(items):cap(items)]) // drop stale pointers beyond the new length
	c.spare, c.items = c.items, items
	if changed {
		c.publish(items, nil)
	}
	return closers
}

// create runs the factory for a new instance. Called with c.mu held.
func (c *Cache) create(in publisher.Instance) *item {
	ep, closer, err := c.factory(in.Address)
	if err == nil && ep == nil {
		err = errors.New("factory returned a nil endpoint")
	}
	if err != nil {
		c.logger.Log("component", "endpointcache", "instance", in.Address, "err", err)
		if closer != nil {
			closer.Close()
		}
		return nil
	}
	st := strategy.NewStats(in.Address, in.EffectiveWeight(), c.statsOpts...)
	if c.middleware != nil {
		ep = c.middleware(in, ep, st)
	}
	var val any
	if c.decorator != nil {
		ep, val = c.decorator(in, ep, st)
	}
	return &item{inst: in, entry: &Entry{Instance: in, Endpoint: ep, Stats: st, Value: val}, closer: closer}
}

// fail records a discovery error. Called with c.mu held.
func (c *Cache) fail(err error) []closing {
	if !c.invalidate {
		c.publish(c.items, err)
		return nil
	}
	if c.invalidateAfter == 0 {
		closers := c.dropAll()
		c.publish(nil, fmt.Errorf("%w: %w", ErrInvalidated, err))
		return closers
	}
	c.publish(c.items, err)
	if c.timer == nil && len(c.items) > 0 {
		epoch := c.epoch
		c.timer = time.AfterFunc(c.invalidateAfter, func() { c.expire(epoch) })
	}
	return nil
}

// expire drops the endpoints if the error spell that armed the timer is
// still going on.
func (c *Cache) expire(epoch uint64) {
	c.mu.Lock()
	if c.closed || c.epoch != epoch {
		c.mu.Unlock()
		return
	}
	c.timer = nil
	err := c.snap.Load().Err
	closers := c.dropAll()
	c.publish(nil, fmt.Errorf("%w: %w", ErrInvalidated, err))
	c.mu.Unlock()
	c.closeAll(closers)
}

func (c *Cache) stopTimer() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

// dropAll forgets every endpoint and returns their closers. Called with
// c.mu held.
func (c *Cache) dropAll() []closing {
	// Every cached item is in the current list: closing in its order makes
	// shutdown deterministic.
	closers := make([]closing, 0, len(c.items))
	for _, it := range c.items {
		closers = append(closers, closing{it.inst.Address, it.closer})
	}
	clear(c.byAddr)
	c.items = nil
	return closers
}

// publish swaps in a snapshot of items. Called with c.mu held.
func (c *Cache) publish(items []*item, err error) {
	c.version++
	s := &Snapshot{
		Entries: make([]*Entry, len(items)),
		Hosts:   make([]*strategy.Stats, len(items)),
		Err:     err,
		Version: c.version,
	}
	for i, it := range items {
		s.Entries[i] = it.entry
		s.Hosts[i] = it.entry.Stats
	}
	c.snap.Store(s)
	if c.onUpdate != nil {
		c.onUpdate(s)
	}
}

// closeAll runs closers outside the lock, so that a slow or re-entrant
// closer cannot stall updates. Each closer is in exactly one list, so it
// runs exactly once.
func (c *Cache) closeAll(cs []closing) error {
	var errs []error
	for _, x := range cs {
		if x.closer == nil {
			continue
		}
		if err := x.closer.Close(); err != nil {
			c.logger.Log("component", "endpointcache", "instance", x.addr, "during", "close", "err", err)
			errs = append(errs, fmt.Errorf("close %s: %w", x.addr, err))
		}
	}
	return errors.Join(errs...)
}

// sameInstance is Instance.Equal without copying two structs per call, which
// shows in a thousand-instance update.
func sameInstance(a, b *publisher.Instance) bool {
	if a.Weight != b.Weight || a.Priority != b.Priority || len(a.Metadata) != len(b.Metadata) {
		return false
	}
	return len(a.Metadata) == 0 || a.Equal(*b)
}
