package loadbalancer

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/internal/instancehost"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// ErrInvalidated is wrapped, with the discovery error, by what Endpoint
// returns once WithInvalidateOnError's timeout has passed and the endpoints
// have been dropped. The discovery error is the first of the spell: later
// errors, until discovery succeeds again, are logged but do not replace it.
var ErrInvalidated = errors.New("loadbalancer: endpoints invalidated after discovery error")

// cache is the balancer's private endpoint cache, as go-kit keeps its own:
// it turns each discovery event into the host set's members. The factory
// runs only for instances not already live; a removed instance's closer is
// handed to the closer goroutine, so a slow closer never delays the next
// update, and each closer runs exactly once.
type cache struct {
	factory     Factory
	set         *strategy.HostSet[endpoint.Endpoint]
	logger      log.Logger
	middlewares []Middleware
	closing     *closeQueue
	onPublish   func(*view) // the balancer's: keeps Status and metrics current
	metrics     *Metrics    // nil without WithMetrics

	invalidate      bool
	invalidateAfter time.Duration

	mu      sync.Mutex          // serialises updates
	items   []*item             // the live set, in discovery order
	hosts   []*strategy.Host    // the last published set, made of items
	eps     []endpoint.Endpoint // hosts[i]'s endpoint
	spare   []*item             // the list before, whose array the next update reuses
	taken   []bool              // replace's, kept for its array
	dense   bool                // items[i] holds last[i], for every i
	byAddr  map[string]*item
	gen     uint64
	version uint64
	err     error                // the discovery error in force
	invalid error                // Event.Invalid of the last successful event
	failed  []FactoryFailure     // instances of the last update whose factory failed
	last    []publisher.Instance // the last set discovery published, for retryFailed
	nFailed uint64               // factory calls that failed since New
	timer   *time.Timer          // pending invalidation
	spell   uint64               // bumps when an error spell ends, to defuse timers
	closed  bool

	errSince   time.Time    // when the error in force began
	lastUpdate atomic.Int64 // unix nanoseconds of the last successful event, for Status
}

// item is one live instance, private to the cache (guarded by its lock).
type item struct {
	inst   publisher.Instance
	host   *strategy.Host
	ep     endpoint.Endpoint // recording, with the middlewares inside
	closer io.Closer
	gen    uint64 // the update that last put it in the list
	idx    int    // its position in the list
}

// view is what Status and the metrics read: the set as of one update.
type view struct {
	hosts   []*strategy.Host // shared with the host set, never modified
	err     error
	invalid error            // the instances the last event left out as invalid
	failed  []FactoryFailure // never modified
	nFailed uint64
	version uint64
	since   time.Time // when err began
}

// update applies a discovery event. A successful event makes its instances
// the live set: the factory runs for instances not already live (and for
// those whose factory call failed before), removed instances are closed,
// and instances whose weight, priority or metadata changed keep their
// endpoint and statistics. An event with an error keeps the live set unless
// invalidation was asked for.
func (c *cache) update(ev publisher.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if ev.Err != nil {
		c.fail(ev.Err)
		return
	}
	c.lastUpdate.Store(time.Now().UnixNano())
	recovered := c.err != nil
	if recovered {
		// The error spell ends: defuse its invalidation.
		c.stopTimer()
		c.spell++
		c.err = nil
	}
	invalidChanged := ev.Invalid != c.invalid
	c.invalid = ev.Invalid
	c.replace(ev.Instances, recovered || invalidChanged)
}

// replace makes instances the live set, and publishes it if it changed or
// force is set. Called with c.mu held.
//
// Discovery usually returns the same list as last time, in the same order,
// with a few instances changed: replace compares each instance with the
// one at its position in the last list before it reads the live item
// there, so that the items an update keeps are not read at all. taken[j]
// records that the live item at position j is in the new list (each item
// knows its position, idx), which stands for the items' generation marks
// (gen) and finds the removed ones.
func (c *cache) replace(instances []publisher.Instance, force bool) {
	changed := force || len(instances) != len(c.items) || len(c.failed) > 0
	c.failed = nil // a new list: views keep the old one
	last, dense := c.last, c.dense
	c.last = instances
	c.gen++
	gen := c.gen
	old := c.items
	if cap(c.taken) < len(old) {
		c.taken = make([]bool, len(old))
	}
	taken := c.taken[:len(old)]
	clear(taken)
	// The previous-but-one list is garbage by now (no view holds items):
	// reuse its array. It mostly holds the items this update puts back at
	// the same positions, so a slot is written only when it differs: a
	// pointer write costs a write barrier while the GC is marking.
	buf := c.spare[:cap(c.spare)]
	if cap(buf) < len(instances) {
		buf = make([]*item, len(instances))
	}
	n := 0
	for i := 0; i < len(instances); i++ {
		// While every instance before i is in place (and dense: last[i]
		// is what old[i] holds), keep the run of instances equal to the
		// last list's without reading their items.
		if dense && n == i {
			if n = keepSame(instances, last, old, buf, taken, i); n == len(instances) {
				break
			}
			i = n
		}
		in := &instances[i]
		var it *item
		// Compare by position before paying for a map lookup.
		if i < len(old) && old[i].inst.Address == in.Address {
			it = old[i]
		} else {
			it = c.byAddr[in.Address]
			changed = true
		}
		wasLive := it != nil && it.idx < len(old) && old[it.idx] == it
		switch {
		case it == nil:
			var err error
			if it, err = c.create(*in); err != nil {
				// Logged and counted; tried again on the next update.
				c.failed = append(c.failed, FactoryFailure{Address: in.Address, Err: err})
				continue
			}
			c.byAddr[in.Address] = it
		case it.gen == gen || wasLive && taken[it.idx]:
			continue // duplicate address in one event: first wins
		case !sameInstance(&it.inst, in):
			it.inst = *in
			it.host.SetWeight(in.EffectiveWeight())
			it.host.SetPriority(in.Priority)
			it.host.SetZone(in.Zone)
			it.host.SetMetadata(in.Metadata)
			changed = true
		}
		if wasLive {
			taken[it.idx] = true
		}
		it.gen, it.idx = gen, n
		if buf[n] != it {
			buf[n] = it
		}
		n++
	}
	c.dense = n == len(instances)
	items := buf[:n]
	if len(items) != len(c.byAddr) {
		// Every cached item is in the previous list, so sweeping that
		// slice finds the removed ones without iterating the map.
		for j, it := range old {
			if !taken[j] {
				delete(c.byAddr, it.inst.Address)
				c.closing.add(it.inst.Address, it.closer)
			}
		}
	}
	for k := n; k < len(buf) && buf[k] != nil; k++ {
		buf[k] = nil // drop stale pointers beyond the new length
	}
	var hosts []*strategy.Host
	var eps []endpoint.Endpoint
	if changed {
		hosts, eps = c.patch(items)
	}
	c.spare, c.items = c.items, items
	if changed {
		c.publishSet(hosts, eps)
	}
}

// keepSame is replace's path for the instances an update keeps: from
// position i on, while instances[j] equals last[j] and no earlier instance
// took old[j] (a duplicate address), it puts old[j] at buf[j] and marks it
// taken. It returns the first position it did not keep. old, last and
// taken have the same length.
func keepSame(instances, last []publisher.Instance, old, buf []*item, taken []bool, i int) int {
	m := min(len(instances), len(last), len(old), len(taken), len(buf))
	for ; i < m; i++ {
		l, in := &last[i], &instances[i]
		if l.Address != in.Address || l.Weight != in.Weight || l.Priority != in.Priority || taken[i] ||
			len(l.Zone)|len(in.Zone)|len(l.Metadata)|len(in.Metadata) != 0 && !sameInstance(l, in) {
			break
		}
		taken[i] = true
		if it := old[i]; buf[i] != it {
			buf[i] = it
		}
	}
	return i
}

// patch returns the hosts and endpoints of items. Where the item is the
// one at that position in the live list (c.items, which the last published
// set was made of), they are copied from that set, so that an update that
// changes a few instances of many reads the other items no more. (An
// element-wise copy: while the GC marks, copy's bulk write barrier costs
// more.) Called with c.mu held.
func (c *cache) patch(items []*item) ([]*strategy.Host, []endpoint.Endpoint) {
	hosts := make([]*strategy.Host, len(items))
	eps := make([]endpoint.Endpoint, len(items))
	prev := c.items[:min(len(c.items), len(c.hosts), len(c.eps))]
	oldHosts, oldEps := c.hosts[:len(prev)], c.eps[:len(prev)]
	for j, it := range items {
		if j < len(prev) && prev[j] == it {
			hosts[j], eps[j] = oldHosts[j], oldEps[j]
		} else {
			hosts[j], eps[j] = it.host, it.ep
		}
	}
	return hosts, eps
}

// ErrNilEndpoint is a factory failure's error when the factory returned
// neither an endpoint nor an error.
var ErrNilEndpoint = errors.New("loadbalancer: factory returned a nil endpoint")

// create runs the factory for a new instance. Called with c.mu held. A
// failure (an error, a nil endpoint, a panic) is logged and counted.
func (c *cache) create(in publisher.Instance) (*item, error) {
	ep, closer, err := c.callFactory(in.Address)
	if err == nil && ep == nil {
		err = ErrNilEndpoint
	}
	if err != nil {
		c.nFailed++
		c.logger.Log("component", "loadbalancer", "instance", in.Address, "during", "factory", "err", err)
		if closer != nil {
			c.closing.add(in.Address, closer)
		}
		return nil, err
	}
	for i := len(c.middlewares) - 1; i >= 0; i-- {
		ep = c.middlewares[i](in, ep)
	}
	h := instancehost.New(c.set, in)
	return &item{inst: in, host: h, ep: recording(h, ep, c.metrics.hostDuration(in.Address)), closer: closer}, nil
}

// callFactory runs the factory, turning a panic into an error so that a
// bad instance cannot take the discovery goroutine down.
func (c *cache) callFactory(addr string) (ep endpoint.Endpoint, closer io.Closer, err error) {
	defer func() {
		if p := recover(); p != nil {
			ep, closer, err = nil, nil, fmt.Errorf("factory panicked: %v", p)
		}
	}()
	return c.factory(addr)
}

// retryFailed runs the factory again for the instances of the last set
// whose factory call failed, as if discovery had published the set again,
// but leaving a discovery error in force. It reports whether some still
// fail.
func (c *cache) retryFailed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || len(c.failed) == 0 {
		return false
	}
	c.replace(c.last, false)
	return len(c.failed) > 0
}

// failing reports whether some instances of the last set have no endpoint
// because their factory call failed.
func (c *cache) failing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.failed) > 0
}

// fail records a discovery error. Called with c.mu held. The first error
// of a spell is the one reported (and wrapped with ErrInvalidated) until
// discovery succeeds again, as go-kit's endpoint cache keeps its original
// error: later ones are only logged.
func (c *cache) fail(err error) {
	c.logger.Log("component", "loadbalancer", "during", "discovery", "err", err)
	if c.err != nil {
		return // already failing: keep the first error, and its timer
	}
	c.err, c.errSince = err, time.Now()
	switch {
	case !c.invalidate:
	case c.invalidateAfter == 0:
		c.dropAll()
		c.err = fmt.Errorf("%w: %w", ErrInvalidated, err)
	case c.timer == nil && len(c.items) > 0:
		spell := c.spell
		c.timer = time.AfterFunc(c.invalidateAfter, func() { c.expire(spell) })
	}
	c.publish()
}

// expire drops the endpoints if the error spell that armed the timer is
// still going on.
func (c *cache) expire(spell uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.spell != spell {
		return
	}
	c.timer = nil
	c.dropAll()
	c.err = fmt.Errorf("%w: %w", ErrInvalidated, c.err)
	c.publish()
}

func (c *cache) stopTimer() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

// dropAll forgets every endpoint and queues their closers, in set order.
// Called with c.mu held.
func (c *cache) dropAll() {
	for _, it := range c.items {
		c.closing.add(it.inst.Address, it.closer)
	}
	clear(c.byAddr)
	c.items, c.spare, c.failed, c.last, c.dense = nil, nil, nil, nil, false
}

// close drops every endpoint and refuses further updates. Called once, by
// Balancer.Close, after the update goroutine has ended.
func (c *cache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.stopTimer()
	c.dropAll()
	c.err, c.errSince = ErrClosed, time.Now()
	c.publish()
}

// publish makes the live set the host set's members. Called with c.mu held,
// so sets are published in update order.
func (c *cache) publish() {
	hosts := make([]*strategy.Host, len(c.items))
	eps := make([]endpoint.Endpoint, len(c.items))
	for i, it := range c.items {
		hosts[i], eps[i] = it.host, it.ep
	}
	c.publishSet(hosts, eps)
}

// publishSet is publish with the hosts and endpoints of c.items made
// already.
func (c *cache) publishSet(hosts []*strategy.Host, eps []endpoint.Endpoint) {
	c.version++
	c.hosts, c.eps = hosts, eps
	v := &view{hosts: hosts, err: c.err, invalid: c.invalid, failed: c.failed, nFailed: c.nFailed, version: c.version}
	if c.err != nil {
		v.since = c.errSince
	}
	none := ErrNoEndpoints
	allFailed := len(hosts) == 0 && len(c.failed) > 0
	switch {
	case c.closed:
		none = ErrClosed
	case allFailed && c.err != nil:
		none = fmt.Errorf("%w; discovery: %w", c.unusable(), c.err)
	case allFailed:
		none = c.unusable()
	case c.err != nil:
		none = fmt.Errorf("%w: discovery: %w", ErrNoEndpoints, c.err)
	}
	_ = c.set.UpdateHosts(hosts, eps, none) // equal lengths: no error
	c.onPublish(v)
}

// maxFailuresInError bounds the factory failures an Endpoint error quotes.
const maxFailuresInError = 3

// unusable is Endpoint's error when discovery knows instances but every
// factory call failed: it says how many, and why (the first few; every
// one is in Status and the log). It wraps ErrNoEndpoints and the first
// failure's error. Called with c.mu held, with c.failed not empty.
func (c *cache) unusable() error {
	n := len(c.failed)
	var rest strings.Builder
	for _, f := range c.failed[1:min(n, maxFailuresInError)] {
		fmt.Fprintf(&rest, "; %s: %v", f.Address, f.Err)
	}
	if more := n - maxFailuresInError; more > 0 {
		fmt.Fprintf(&rest, "; and %d more", more)
	}
	return fmt.Errorf("%w: %d instance%s known, none usable: factory failed for %d: %s: %w%s",
		ErrNoEndpoints, n, plural(n), n, c.failed[0].Address, c.failed[0].Err, rest.String())
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// sameInstance is Instance.Equal without copying two structs per call, which
// shows in a thousand-instance update: the usual instance, without a zone
// or metadata, costs four comparisons and no copy.
func sameInstance(a, b *publisher.Instance) bool {
	return a.Weight == b.Weight && a.Priority == b.Priority &&
		len(a.Zone) == len(b.Zone) && len(a.Metadata) == len(b.Metadata) &&
		(len(a.Zone) == 0 && len(a.Metadata) == 0 || sameDetails(a, b))
}

// sameDetails is the rest of sameInstance, for instances with a zone or
// metadata.
func sameDetails(a, b *publisher.Instance) bool {
	return a.Zone == b.Zone && a.Equal(*b)
}

// closeQueue runs the closers of removed endpoints on a goroutine of its
// own, in the order they were queued, so that a slow closer delays no
// update. Errors are logged.
type closeQueue struct {
	logger log.Logger
	mu     sync.Mutex
	queue  []pendingClose
	wake   chan struct{}
	done   chan struct{}
	stop   bool
	final  bool    // Close has begun: collect errors for it
	errs   []error // guarded by mu; only while final
}

type pendingClose struct {
	addr   string
	closer io.Closer
}

func newCloseQueue(logger log.Logger) *closeQueue {
	q := &closeQueue{logger: logger, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go q.run()
	return q
}

func (q *closeQueue) add(addr string, c io.Closer) {
	if c == nil {
		return
	}
	q.mu.Lock()
	q.queue = append(q.queue, pendingClose{addr, c})
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *closeQueue) run() {
	defer close(q.done)
	for range q.wake {
		for {
			q.mu.Lock()
			batch, stop := q.queue, q.stop
			q.queue = nil
			q.mu.Unlock()
			if len(batch) == 0 {
				if stop {
					return
				}
				break
			}
			for _, p := range batch {
				if err := q.closeOne(p); err != nil {
					q.mu.Lock()
					if q.final {
						q.errs = append(q.errs, fmt.Errorf("close %s: %w", p.addr, err))
					}
					q.mu.Unlock()
				}
			}
		}
	}
}

func (q *closeQueue) closeOne(p pendingClose) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("closer panicked: %v", r)
		}
		if err != nil {
			q.logger.Log("component", "loadbalancer", "instance", p.addr, "during", "close", "err", err)
		}
	}()
	return p.closer.Close()
}

// collect makes the queue keep the errors of the closers it runs from now
// on, for Close to return.
func (q *closeQueue) collect() {
	q.mu.Lock()
	q.final = true
	q.mu.Unlock()
}

// shutdown runs what is queued, waits for it, and returns the errors
// collected since collect. Nothing may be added afterwards.
func (q *closeQueue) shutdown() error {
	q.mu.Lock()
	q.stop = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	<-q.done
	return errors.Join(q.errs...)
}
