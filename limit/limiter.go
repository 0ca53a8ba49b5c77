package limit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Errors. Errors with detail wrap one of these; compare with errors.Is.
var (
	// ErrClosed is returned by Acquire, Set and Unset after Close, and by
	// an Acquire that was waiting when Close was called.
	ErrClosed = errors.New("limit: limiter closed")
	// ErrInvalidArgument is wrapped by the errors for a negative target
	// and for bad options.
	ErrInvalidArgument = errors.New("limit: invalid argument")
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

// Option configures a Limiter.
type Option func(*options) error

type options struct {
	defaultTarget int
	ctx           context.Context
}

// WithContext ties the limiter to ctx, as workpool's NewPool(ctx) was: when
// ctx is done the limiter closes itself (see Close). Close before that
// unties it. A nil ctx is an invalid argument.
func WithContext(ctx context.Context) Option {
	return func(o *options) error {
		if ctx == nil {
			return fmt.Errorf("%w: nil context", ErrInvalidArgument)
		}
		o.ctx = ctx
		return nil
	}
}

// WithDefaultTarget sets the target of every key that Set has not given
// one (0 by default: such keys get no lease). With a default, a limiter
// caps any number of keys without knowing them in advance, and
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

// Limiter hands out leases per key, at most the key's target at a time: a
// set of semaphores whose sizes change at runtime. Create it with New; the
// zero value is not usable. All methods are safe for concurrent use.
//
// Keys are independent: each has its own lock, so acquiring and releasing
// leases of different keys never contend.
type Limiter[K comparable] struct {
	defaultTarget int
	groups        sync.Map // K → *group[K]
	nextID        atomic.Uint64

	closed atomic.Bool
	done   chan struct{}
	untie  func() bool // stops WithContext's AfterFunc; nil without it

	mu       sync.Mutex // guards starting the feeder against Close
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

// New returns a limiter in which no key has a target yet.
func New[K comparable](opts ...Option) (*Limiter[K], error) {
	var o options
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidArgument)
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	lim := &Limiter[K]{
		defaultTarget: o.defaultTarget,
		done:          make(chan struct{}),
		wake:          make(chan struct{}, 1),
	}
	if o.ctx != nil {
		lim.mu.Lock() // Close, from the AfterFunc, reads untie
		lim.untie = context.AfterFunc(o.ctx, func() { _ = lim.Close() })
		lim.mu.Unlock()
	}
	return lim, nil
}

// lockGroup returns key's group, locked, creating it if create is set
// (else it may return nil).
func (lim *Limiter[K]) lockGroup(key K, create bool) *group[K] {
	for {
		v, ok := lim.groups.Load(key)
		if !ok {
			if !create {
				return nil
			}
			v, _ = lim.groups.LoadOrStore(key, &group[K]{key: key, target: lim.defaultTarget})
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
// limiter has never seen. Call with g.mu held.
func (lim *Limiter[K]) forget(g *group[K]) {
	if !g.pinned && g.active == 0 && g.waiters.empty() {
		g.dead = true
		lim.groups.CompareAndDelete(g.key, g)
	}
}

func (lim *Limiter[K]) newLease(g *group[K]) *Lease[K] {
	return &Lease[K]{lim: lim, g: g, id: lim.nextID.Add(1)}
}

// grantWaiters hands leases to waiting Acquire calls, oldest first, while
// the key has room. Call with g.mu held.
func (lim *Limiter[K]) grantWaiters(g *group[K]) {
	for g.active < g.target {
		w := g.waiters.pop()
		if w == nil {
			return
		}
		g.active++
		w.ch <- lim.newLease(g) // buffered: never blocks
	}
}

// Set gives key a target. Raising it grants waiting Acquire calls at once;
// lowering it below the leases held grants no new lease until enough are
// released. The key keeps its target until Unset. A negative target is an
// error wrapping ErrInvalidArgument.
func (lim *Limiter[K]) Set(key K, target int) error {
	if target < 0 {
		return fmt.Errorf("%w: negative target %d", ErrInvalidArgument, target)
	}
	if lim.closed.Load() {
		return ErrClosed
	}
	g := lim.lockGroup(key, true)
	g.target, g.pinned = target, true
	lim.grantWaiters(g)
	g.mu.Unlock()
	lim.poke()
	return nil
}

// Unset returns key to the default target (WithDefaultTarget); the limiter
// forgets the key once it has no leases or waiters.
func (lim *Limiter[K]) Unset(key K) error {
	if lim.closed.Load() {
		return ErrClosed
	}
	g := lim.lockGroup(key, false)
	if g == nil {
		return nil
	}
	g.target, g.pinned = lim.defaultTarget, false
	lim.grantWaiters(g)
	lim.forget(g)
	g.mu.Unlock()
	lim.poke()
	return nil
}

// Get returns key's counts.
func (lim *Limiter[K]) Get(key K) Counts {
	g := lim.lockGroup(key, false)
	if g == nil {
		return Counts{Target: lim.defaultTarget}
	}
	defer g.mu.Unlock()
	return Counts{Target: g.target, Active: g.active - g.offered, Waiting: g.waiters.len}
}

// TryAcquire returns a lease of key if one is free now and no Acquire is
// waiting for it. It reports false after Close.
func (lim *Limiter[K]) TryAcquire(key K) (*Lease[K], bool) {
	if lim.closed.Load() {
		return nil, false
	}
	g := lim.lockGroup(key, true)
	defer g.mu.Unlock()
	if g.waiters.empty() && g.active < g.target {
		g.active++
		return lim.newLease(g), true
	}
	lim.forget(g)
	return nil, false
}

// Acquire returns a lease of key, waiting in line behind earlier callers
// until the key has room, ctx is done (then it returns ctx.Err()) or the
// limiter is closed (ErrClosed). A key with target 0 waits until Set raises it.
// The lease must be released.
func (lim *Limiter[K]) Acquire(ctx context.Context, key K) (*Lease[K], error) {
	if lim.closed.Load() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g := lim.lockGroup(key, true)
	if g.waiters.empty() && g.active < g.target {
		g.active++
		g.mu.Unlock()
		return lim.newLease(g), nil
	}
	w := &waiter[K]{ch: make(chan *Lease[K], 1)}
	g.waiters.push(w)
	g.mu.Unlock()
	lim.poke() // the feeder may be offering the lease this caller should get
	select {
	case l := <-w.ch:
		return l, nil
	case <-ctx.Done():
		lim.abandon(g, w)
		return nil, ctx.Err()
	case <-lim.done:
		return nil, ErrClosed
	}
}

// abandon withdraws a waiter whose context ended; a lease granted to it
// in the meantime goes to the next in line.
func (lim *Limiter[K]) abandon(g *group[K], w *waiter[K]) {
	g.mu.Lock()
	if w.queued {
		g.waiters.remove(w)
	} else {
		<-w.ch
		g.active--
		lim.grantWaiters(g)
	}
	lim.forget(g)
	g.mu.Unlock()
	lim.poke()
}

func (lim *Limiter[K]) release(l *Lease[K]) {
	if lim.closed.Load() {
		return
	}
	g := l.g
	g.mu.Lock()
	g.active--
	lim.grantWaiters(g)
	lim.forget(g)
	g.mu.Unlock()
	lim.poke()
}

// Done is closed when the limiter is closed, so that a caller holding no
// lease can tell "closed" from "full" without another call.
func (lim *Limiter[K]) Done() <-chan struct{} { return lim.done }

// Close ends the limiter: waiting Acquire calls return ErrClosed, the
// Leases channel closes, and later calls fail with ErrClosed. Releasing a
// lease after Close does nothing. Close returns once the limiter's
// goroutine (if Leases started one) has ended. It is idempotent and always
// returns nil; the error is there for io.Closer.
func (lim *Limiter[K]) Close() error {
	lim.mu.Lock()
	if !lim.closed.Load() {
		lim.closed.Store(true)
		close(lim.done)
		if lim.untie != nil {
			lim.untie()
		}
	}
	lim.mu.Unlock()
	lim.feedWG.Wait()
	return nil
}
