package lease

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Errors. Errors with detail wrap one of these; compare with errors.Is.
var (
	// ErrStopped is returned by Acquire, Set and Unset after Stop, and by
	// an Acquire that was waiting when Stop was called.
	ErrStopped = errors.New("lease: pool stopped")
	// ErrInvalidArgument is wrapped by the errors for a negative target
	// and for bad options.
	ErrInvalidArgument = errors.New("lease: invalid argument")
)

// Counts is what Get reports for one key.
type Counts struct {
	// Target is the number of leases the key may have at once.
	Target int
	// Active is the number of leases held now. It may exceed Target right
	// after Target was lowered, until enough leases are released.
	Active int
	// Waiting is the number of Acquire calls waiting for this key.
	Waiting int
}

// Option configures a Pool.
type Option func(*options) error

type options struct {
	defaultTarget int
}

// WithDefaultTarget sets the target of every key that Set has not given
// one (0 by default: such keys get no lease). With a default, a pool
// limits any number of keys without knowing them in advance, and
// remembers a key only while it has leases or waiters.
func WithDefaultTarget(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("%w: negative default target %d", ErrInvalidArgument, n)
		}
		o.defaultTarget = n
		return nil
	}
}

// Pool hands out leases per key, at most the key's target at a time: a
// set of semaphores whose sizes change at runtime. Create it with New; the
// zero value is not usable. All methods are safe for concurrent use.
//
// Keys are independent: each has its own lock, so acquiring and releasing
// leases of different keys never contend.
type Pool[K comparable] struct {
	defaultTarget int
	groups        sync.Map // K → *group[K]
	nextID        atomic.Uint64

	stopped atomic.Bool
	done    chan struct{}

	mu       sync.Mutex // guards starting the feeder against Stop
	feedOnce sync.Once
	feeding  atomic.Bool
	feed     chan *Lease[K]
	wake     chan struct{}
	feedWG   sync.WaitGroup
	turn     int // the feeder's round-robin position
}

// group is one key's state. Its fields are guarded by mu.
type group[K comparable] struct {
	mu      sync.Mutex
	key     K
	target  int
	pinned  bool // given a target by Set; kept until Unset
	active  int  // leases held, plus the one the feeder offers
	offered int  // 1 while the feeder offers a lease of this key
	waiters waitQueue[K]
	dead    bool // removed from the map; look the key up again
}

// New returns a pool in which no key has a target yet.
func New[K comparable](opts ...Option) (*Pool[K], error) {
	var o options
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidArgument)
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Pool[K]{
		defaultTarget: o.defaultTarget,
		done:          make(chan struct{}),
		wake:          make(chan struct{}, 1),
	}, nil
}

// lockGroup returns key's group, locked, creating it if create is set
// (else it may return nil).
func (p *Pool[K]) lockGroup(key K, create bool) *group[K] {
	for {
		v, ok := p.groups.Load(key)
		if !ok {
			if !create {
				return nil
			}
			v, _ = p.groups.LoadOrStore(key, &group[K]{key: key, target: p.defaultTarget})
		}
		g := v.(*group[K])
		g.mu.Lock()
		if !g.dead {
			return g
		}
		g.mu.Unlock()
	}
}

// forget drops g from the map when nothing distinguishes it from a key the
// pool has never seen. Call with g.mu held.
func (p *Pool[K]) forget(g *group[K]) {
	if !g.pinned && g.active == 0 && g.waiters.empty() {
		g.dead = true
		p.groups.CompareAndDelete(g.key, g)
	}
}

func (p *Pool[K]) newLease(g *group[K]) *Lease[K] {
	return &Lease[K]{pool: p, g: g, id: p.nextID.Add(1)}
}

// grantWaiters hands leases to waiting Acquire calls, oldest first, while
// the key has room. Call with g.mu held.
func (p *Pool[K]) grantWaiters(g *group[K]) {
	for g.active < g.target {
		w := g.waiters.pop()
		if w == nil {
			return
		}
		g.active++
		w.ch <- p.newLease(g) // buffered: never blocks
	}
}

// Set gives key a target. Raising it grants waiting Acquire calls at once;
// lowering it below the leases held grants no new lease until enough are
// released. The key keeps its target until Unset. A negative target is an
// error wrapping ErrInvalidArgument.
func (p *Pool[K]) Set(key K, target int) error {
	if target < 0 {
		return fmt.Errorf("%w: negative target %d", ErrInvalidArgument, target)
	}
	if p.stopped.Load() {
		return ErrStopped
	}
	g := p.lockGroup(key, true)
	g.target, g.pinned = target, true
	p.grantWaiters(g)
	g.mu.Unlock()
	p.poke()
	return nil
}

// Unset returns key to the default target (WithDefaultTarget); the pool
// forgets the key once it has no leases or waiters.
func (p *Pool[K]) Unset(key K) error {
	if p.stopped.Load() {
		return ErrStopped
	}
	g := p.lockGroup(key, false)
	if g == nil {
		return nil
	}
	g.target, g.pinned = p.defaultTarget, false
	p.grantWaiters(g)
	p.forget(g)
	g.mu.Unlock()
	p.poke()
	return nil
}

// Get returns key's counts.
func (p *Pool[K]) Get(key K) Counts {
	g := p.lockGroup(key, false)
	if g == nil {
		return Counts{Target: p.defaultTarget}
	}
	defer g.mu.Unlock()
	return Counts{Target: g.target, Active: g.active - g.offered, Waiting: g.waiters.len}
}

// TryAcquire returns a lease of key if one is free now and no Acquire is
// waiting for it. It reports false after Stop.
func (p *Pool[K]) TryAcquire(key K) (*Lease[K], bool) {
	if p.stopped.Load() {
		return nil, false
	}
	g := p.lockGroup(key, true)
	defer g.mu.Unlock()
	if g.waiters.empty() && g.active < g.target {
		g.active++
		return p.newLease(g), true
	}
	p.forget(g)
	return nil, false
}

// Acquire returns a lease of key, waiting in line behind earlier callers
// until the key has room, ctx is done (then it returns ctx.Err()) or the
// pool stops (ErrStopped). A key with target 0 waits until Set raises it.
// The lease must be released.
func (p *Pool[K]) Acquire(ctx context.Context, key K) (*Lease[K], error) {
	if p.stopped.Load() {
		return nil, ErrStopped
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g := p.lockGroup(key, true)
	if g.waiters.empty() && g.active < g.target {
		g.active++
		g.mu.Unlock()
		return p.newLease(g), nil
	}
	w := &waiter[K]{ch: make(chan *Lease[K], 1)}
	g.waiters.push(w)
	g.mu.Unlock()
	p.poke() // the feeder may be offering the lease this caller should get
	select {
	case l := <-w.ch:
		return l, nil
	case <-ctx.Done():
		p.abandon(g, w)
		return nil, ctx.Err()
	case <-p.done:
		return nil, ErrStopped
	}
}

// abandon withdraws a waiter whose context ended; a lease granted to it
// in the meantime goes to the next in line.
func (p *Pool[K]) abandon(g *group[K], w *waiter[K]) {
	g.mu.Lock()
	if w.queued {
		g.waiters.remove(w)
	} else {
		<-w.ch
		g.active--
		p.grantWaiters(g)
	}
	p.forget(g)
	g.mu.Unlock()
	p.poke()
}

func (p *Pool[K]) release(l *Lease[K]) {
	if p.stopped.Load() {
		return
	}
	g := l.g
	g.mu.Lock()
	g.active--
	p.grantWaiters(g)
	p.forget(g)
	g.mu.Unlock()
	p.poke()
}

// Done is closed when the pool stops.
func (p *Pool[K]) Done() <-chan struct{} { return p.done }

// Stop ends the pool: waiting Acquire calls return ErrStopped, the Leases
// channel closes, and later calls fail with ErrStopped. Releasing a lease
// after Stop does nothing. Stop is idempotent and returns once the pool's
// goroutine (if Leases started one) has ended.
func (p *Pool[K]) Stop() {
	p.mu.Lock()
	if !p.stopped.Load() {
		p.stopped.Store(true)
		close(p.done)
	}
	p.mu.Unlock()
	p.feedWG.Wait()
}
