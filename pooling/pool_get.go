package pooling

import (
	"context"
	"fmt"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
)

// The request path: the endpoint a Factory puts under each instance, Get,
// Put, and the dials and waits behind a Get that finds no idle connection.

// Endpoint returns an endpoint that borrows a connection from p for each
// call, runs call over it, and gives it back with call's error. A nil call
// gives an endpoint that fails with ErrInvalidArgument.
func (p *Pool[C]) Endpoint(call Call[C]) endpoint.Endpoint {
	if call == nil {
		return func(context.Context, any) (any, error) { return nil, invalid("nil call") }
	}
	return func(ctx context.Context, request any) (any, error) {
		c, err := p.Get(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := call(ctx, c.e.conn, request)
		p.put(c, err, false)
		return resp, err
	}
}

// grant is what a waiting Get receives: a connection, the right to dial one
// (e == nil, err == nil), or an error.
type grant[C any] struct {
	e   *entry[C]
	err error
}

type waiter[C any] struct{ ch chan grant[C] }

// Get lends a connection: an idle one if there is one (tested first unless
// it was lent within the test-on-borrow window, see WithTestOnBorrow), else
// a new one while fewer than the maximum are open, else the next one given
// back. It waits up to the wait timeout (WithWaitTimeout) or until ctx ends,
// whichever comes first, returning ErrTimeout or an error wrapping ctx's. A
// failed dial is retried (WithConnRetries) before Get returns its error.
// After Close it returns ErrClosed.
func (p *Pool[C]) Get(ctx context.Context) (Conn[C], error) {
	// The clock is read before the lock is taken, to keep it out of the
	// critical section (a reading a little early only makes a connection
	// look younger and less idle than it is), and once: the same reading
	// starts the get delay.
	var t int64
	if p.timed || p.m.ConnsGetDelay != nil {
		t = now()
	}
	c, fast, err := p.get(ctx, t)
	if p.m.ConnsGetCount != nil || p.m.ConnsGetDelay != nil || p.m.ConnsGetFails != nil {
		p.m.observeGet(t, fast, err)
	}
	return c, err
}

// get is Get with t, a reading of now if the pool is timed. fast reports a
// connection lent from the lock-free lane.
func (p *Pool[C]) get(ctx context.Context, t int64) (_ Conn[C], fast bool, _ error) {
	if ctx == nil {
		return Conn[C]{}, false, invalid("nil context")
	}
	if err := ctx.Err(); err != nil {
		return Conn[C]{}, false, p.failGet(fmt.Errorf("pooling: get %s: %w", p.addr, context.Cause(ctx)))
	}
	// The connection lent goes back to this goroutine's slot, whichever
	// slot or stack it came from: so the goroutine's next Get finds it
	// there first.
	h := laneHint()
	var e *entry[C]
	if p.hold.Load() < holdClosed {
		e = p.takeFast(h)
	}
	if e != nil {
		if p.fit(e, t) {
			e.lent = t
			e.slot = h
			st := e.state.Add(lendStep)
			return Conn[C]{e: e, gen: uint32(st >> 1)}, true, nil
		}
		// Expired, or due for its test: the locked way.
		p.mu.Lock()
		p.idle = append(p.idle, e)
	} else {
		p.mu.Lock()
		if len(p.idle) == 0 {
			p.drainLocked()
		}
	}
	c, err := p.getLocked(ctx, t)
	if err == nil {
		c.e.slot = h
	}
	return c, false, err
}

// fit says whether e, taken from the lane, can be lent at t as it is: not
// expired, and not due for its test on borrow. A connection lent within the
// window was in use a moment ago: its test is skipped, as HikariCP does.
// One lent in the current period needs no stamp either (pool_window.go).
func (p *Pool[C]) fit(e *entry[C], t int64) bool {
	if p.timed && p.expired(e, t) != keep {
		return false
	}
	return !p.cfg.testOnBorrow || (p.windowed && e.period == p.window.period.Load())
}

// getLocked lends an idle connection from the stack, or dials or waits. It
// is called with p.mu held and releases it.
func (p *Pool[C]) getLocked(ctx context.Context, t int64) (Conn[C], error) {
	for !p.closed && len(p.idle) > 0 {
		n := len(p.idle) - 1
		e := p.idle[n]
		p.idle[n] = nil
		p.idle = p.idle[:n]
		if why := p.expired(e, t); why != keep {
			p.dropEntryLocked(e, why)
			p.mu.Unlock()
			p.closeConn(e)
			p.mu.Lock()
			continue
		}
		test := p.cfg.testOnBorrow && (!p.windowed || e.period != p.window.period.Load())
		gen := p.lendLocked(e, t)
		p.mu.Unlock()
		if test {
			if err := p.driver.TestOnBorrow(e.conn); err != nil {
				p.mu.Lock()
				p.unlendLocked(e)
				p.dropEntryLocked(e, failedTest)
				p.mu.Unlock()
				p.closeConn(e)
				p.mu.Lock()
				p.drainLocked()
				continue
			}
		}
		return Conn[C]{e: e, gen: gen}, nil
	}
	if p.closed {
		p.c.getFailures++
		p.mu.Unlock()
		return Conn[C]{}, ErrClosed
	}
	return p.getSlow(ctx, t)
}

// getSlow dials or waits. It is called with p.mu held and releases it.
func (p *Pool[C]) getSlow(ctx context.Context, t int64) (Conn[C], error) {
	if p.total >= p.max {
		// About to wait: raise hold so that Puts stop parking, then
		// look in the lane once more (see pool_lane.go).
		p.hold.Add(holdWaiter)
		p.drainLocked()
		if len(p.idle) > 0 {
			p.hold.Add(-holdWaiter)
			return p.getLocked(ctx, t)
		}
	}
	wctx := ctx
	if p.cfg.waitTimeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeoutCause(ctx, p.cfg.waitTimeout, ErrTimeout)
		defer cancel()
	}
	if p.total < p.max {
		p.total++
		p.dialling++
		p.mu.Unlock()
		return p.dialFor(wctx)
	}
	w := &waiter[C]{ch: make(chan grant[C], 1)}
	p.waiters = append(p.waiters, w) // hold counts it already
	p.c.waits++
	p.mu.Unlock()

	start := now()
	var g grant[C]
	select {
	case g = <-w.ch:
		p.waitNanos.Add(now() - start)
	case <-wctx.Done():
		p.waitNanos.Add(now() - start)
		p.mu.Lock()
		if p.removeWaiter(w) {
			p.c.getFailures++
			p.mu.Unlock()
			return Conn[C]{}, p.waitErr(wctx)
		}
		// Granted while we gave up: hand the grant on.
		g = <-w.ch
		switch {
		case g.e != nil:
			p.unlendLocked(g.e)
			p.returnLocked(g.e, g.e.returned)
		case g.err == nil:
			p.dialling--
			p.dropLocked(keep)
		}
		p.c.getFailures++
		p.mu.Unlock()
		if g.err != nil {
			return Conn[C]{}, g.err
		}
		return Conn[C]{}, p.waitErr(wctx)
	}
	switch {
	case g.err != nil:
		return Conn[C]{}, p.failGet(g.err)
	case g.e == nil:
		return p.dialFor(wctx)
	}
	return Conn[C]{e: g.e, gen: uint32(g.e.state.Load() >> 1)}, nil
}

func (p *Pool[C]) waitErr(ctx context.Context) error {
	cause := context.Cause(ctx)
	if cause == ErrTimeout {
		return fmt.Errorf("pooling: get %s: %w after %v", p.addr, ErrTimeout, p.cfg.waitTimeout)
	}
	return fmt.Errorf("pooling: get %s: %w", p.addr, cause)
}

func (p *Pool[C]) failGet(err error) error {
	p.mu.Lock()
	p.c.getFailures++
	p.mu.Unlock()
	return err
}

// dialFor dials on a slot already reserved (total and dialling counted) and
// lends the result.
func (p *Pool[C]) dialFor(ctx context.Context) (Conn[C], error) {
	e, err := p.dial(ctx)
	p.mu.Lock()
	p.dialling--
	if err != nil {
		p.c.getFailures++
		p.dropLocked(keep)
		p.mu.Unlock()
		return Conn[C]{}, err
	}
	if p.closed {
		p.c.getFailures++
		p.dropLocked(poolClosed)
		p.mu.Unlock()
		p.closeConn(e)
		return Conn[C]{}, ErrClosed
	}
	p.registerLocked(e)
	gen := p.lendLocked(e, e.created)
	p.mu.Unlock()
	return Conn[C]{e: e, gen: gen}, nil
}

// dial makes a connection, retrying as configured. Close cancels it.
func (p *Pool[C]) dial(ctx context.Context) (*entry[C], error) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(p.bg, func() { cancel(ErrClosed) })
	defer func() {
		stop()
		cancel(nil)
	}()
	var err error
	for attempt := 0; ; attempt++ {
		var conn C
		conn, err = p.driver.Dial(ctx, p.addr)
		if err == nil {
			p.dialled.Add(1)
			if p.m.ConnsCount != nil {
				p.m.ConnsCount.Add(1)
			}
			t := now()
			return &entry[C]{pool: p, conn: conn, created: t, returned: t, lent: t}, nil
		}
		p.dialFailures.Add(1)
		if p.m.ConnsFails != nil {
			p.m.ConnsFails.Add(1)
		}
		if attempt >= p.cfg.connRetries || backoff.Sleep(ctx, p.cfg.retryDelay) != nil {
			break
		}
	}
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		if cause == ErrTimeout {
			return nil, fmt.Errorf("pooling: dial %s: %w after %v: %w", p.addr, ErrTimeout, p.cfg.waitTimeout, err)
		}
		return nil, fmt.Errorf("pooling: dial %s: %w: %w", p.addr, cause, err)
	}
	return nil, fmt.Errorf("pooling: dial %s: %w", p.addr, err)
}

// Put gives back a connection lent by this pool. A nil err, or one the
// driver calls temporary, keeps it for reuse; a fatal one closes it. It
// returns ErrNotBorrowed for a Conn this pool has not lent, or has taken
// back already.
func (p *Pool[C]) Put(c Conn[C], err error) error {
	if c.e == nil || c.e.pool != p {
		return ErrNotBorrowed
	}
	// Only a Service records a borrow, and its pools are its own: a Conn
	// given to Put has nothing to score.
	_, _, perr := p.put(c, err, false)
	return perr
}

// Fatal reports whether Put(c, err) would close the connection: err is
// non-nil and the driver does not call it temporary. It is the bool that
// pooly's Put returned, asked before the Put rather than after.
func (p *Pool[C]) Fatal(err error) bool { return err != nil && !p.driver.Temporary(err) }

// put takes a connection back, reporting whether err was fatal for it and
// what a Service recorded with it.
func (p *Pool[C]) put(c Conn[C], err error, discard bool) (fatal bool, b borrow, _ error) {
	e := c.e
	fatal = p.Fatal(err)
	// Taking the entry back is what validates the Conn: its generation
	// and the lent bit, in one compare-and-swap. From here on e is ours.
	st := e.state.Load()
	if st&lentBit == 0 || uint32(st>>1) != c.gen || !e.state.CompareAndSwap(st, st&^lentBit) {
		return false, b, ErrNotBorrowed
	}
	lent := e.lent
	if e.borrow.host != nil {
		b, e.borrow = e.borrow, borrow{} // and let the context go
	}
	var t int64
	if p.timed {
		t = now()
	}
	why := keep
	if !fatal && !discard && (!p.timed || p.expired(e, t) == keep) {
		e.returned = t
		if p.park(e) {
			p.putMetrics(err, t, lent)
			return false, b, nil
		}
	}
	p.mu.Lock()
	switch {
	case p.closed:
		why = poolClosed
	case fatal:
		why = fatalError
	case discard:
		why = poolClosed // asked for, not a pool event: counted nowhere
	case p.total > p.max:
		why = overMax
	default:
		why = p.expired(e, t)
	}
	if why != keep {
		p.dropEntryLocked(e, why)
	} else {
		p.returnLocked(e, t)
	}
	p.mu.Unlock()
	p.putMetrics(err, t, lent)
	if why != keep {
		p.closeConn(e)
	}
	return fatal, b, nil
}

func (p *Pool[C]) putMetrics(err error, t, lent int64) {
	if p.m.ConnsPutCount != nil {
		p.m.ConnsPutCount.Add(1)
	}
	if err != nil && p.m.ConnsFails != nil {
		p.m.ConnsFails.Add(1)
	}
	if p.m.ConnsActivePeriod != nil {
		p.m.ConnsActivePeriod.Observe(seconds(t - lent))
	}
}

// lendLocked marks e, which the caller holds, lent at t and returns its new
// generation.
func (p *Pool[C]) lendLocked(e *entry[C], t int64) uint32 {
	e.lent = t
	if p.windowed {
		p.stampLocked(e)
	}
	return uint32(e.state.Add(lendStep) >> 1)
}

// unlendLocked takes back a lend that no Get returned. The generation stays
// up, so the Conn it was lent as stays stale.
func (p *Pool[C]) unlendLocked(e *entry[C]) {
	e.state.Add(^uint64(lentBit - 1)) // minus lentBit
	p.c.unlent++
}

// returnLocked makes e, given back at t, available: to the first waiter,
// else to the idle stack.
func (p *Pool[C]) returnLocked(e *entry[C], t int64) {
	e.returned = t
	if len(p.waiters) > 0 {
		w := p.popWaiter()
		p.lendLocked(e, t)
		w.ch <- grant[C]{e: e}
		return
	}
	p.idle = append(p.idle, e)
}

func (p *Pool[C]) popWaiter() *waiter[C] {
	w := p.waiters[0]
	p.hold.Add(-holdWaiter)
	p.waiters[0] = nil
	p.waiters = p.waiters[1:]
	if len(p.waiters) == 0 {
		p.waiters = nil // let the backing array go
	}
	return w
}

func (p *Pool[C]) removeWaiter(w *waiter[C]) bool {
	for i, x := range p.waiters {
		if x == w {
			p.hold.Add(-holdWaiter)
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			return true
		}
	}
	return false
}
