package pooling

import (
	"fmt"
	"time"
)

// The pool's lifecycle: prespawning, the sweep of expired idle connections,
// resizing, and closing.

// sweepInterval is how often idle connections are checked for expiry: half
// the shorter of the two limits, so none outlives its limit by more than
// half, within sane bounds. Zero means no sweep is needed.
func sweepInterval(idle, life time.Duration) time.Duration {
	d := idle
	if d == 0 || (life > 0 && life < d) {
		d = life
	}
	if d == 0 {
		return 0
	}
	return min(max(d/2, time.Millisecond), 30*time.Second)
}

// sweep closes expired idle connections until Close.
func (p *Pool[C]) sweep(every time.Duration) {
	defer p.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.bg.Done():
			return
		case <-t.C:
			p.sweepOnce()
		}
	}
}

func (p *Pool[C]) sweepOnce() {
	t := now()
	var dead []*entry[C]
	p.mu.Lock()
	p.drainLocked()
	kept := p.idle[:0]
	for _, e := range p.idle {
		if why := p.expired(e, t); why != keep {
			dead = append(dead, e)
			p.dropEntryLocked(e, why)
			continue
		}
		kept = append(kept, e)
	}
	clear(p.idle[len(kept):])
	p.idle = kept
	p.mu.Unlock()
	for _, e := range dead {
		p.closeConn(e)
	}
}

// New dials up to n more connections in the background and keeps them idle
// (pooly's prespawn), never going past the maximum. It returns at once; a
// failed dial ends the batch.
func (p *Pool[C]) New(n int) error {
	if n < 0 {
		return invalid("negative connection count %d", n)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	n = min(n, p.max-p.total)
	if n <= 0 {
		return nil
	}
	p.total += n
	p.dialling += n
	p.wg.Add(1)
	go p.spawn(n)
	return nil
}

func (p *Pool[C]) spawn(n int) {
	defer p.wg.Done()
	for i := range n {
		e, err := p.dial(p.bg)
		p.mu.Lock()
		p.dialling--
		switch {
		case err != nil:
			// The host is not answering: give back this slot and
			// the rest rather than hammer it.
			p.dropLocked(keep)
			for range n - i - 1 {
				p.dialling--
				p.dropLocked(keep)
			}
			p.mu.Unlock()
			return
		case p.closed:
			p.dropLocked(poolClosed)
			p.mu.Unlock()
			p.closeConn(e)
		default:
			p.registerLocked(e)
			p.returnLocked(e, e.created)
			p.mu.Unlock()
		}
	}
}

// SetMaxConns changes the maximum number of connections. Lowering it closes
// idle connections over the new maximum at once and borrowed ones as they
// come back; raising it lets waiting Gets dial.
func (p *Pool[C]) SetMaxConns(n int) error {
	if n < 1 {
		return invalid("max connections %d, want at least 1", n)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.max = n
	// Over the maximum, Puts must go the locked way, which closes them:
	// raise hold before draining the lane (see pool_lane.go).
	p.checkOverLocked()
	p.drainLocked()
	var dead []*entry[C]
	for p.total > p.max && len(p.idle) > 0 {
		// The least recently used go first.
		e := p.idle[0]
		p.idle[0] = nil
		p.idle = p.idle[1:]
		dead = append(dead, e)
		p.dropEntryLocked(e, overMax)
	}
	for p.total < p.max && len(p.waiters) > 0 {
		p.total++
		p.dropLocked(keep) // hands the new slot to a waiter
	}
	p.mu.Unlock()
	for _, e := range dead {
		p.closeConn(e)
	}
	return nil
}

// Close closes the pool: Get fails with ErrClosed from now on, waiting Gets
// are woken with it, idle connections are closed, and borrowed ones are
// closed as they come back. Close waits for them up to the close deadline
// (WithCloseDeadline) or until ForceClose; if some are still out then, it
// returns an error wrapping ErrStillBorrowed. Close is idempotent: later
// calls wait for the first to finish and return nil.
func (p *Pool[C]) Close() error {
	drained, first := p.shut(true)
	if !first {
		<-p.done
		return nil
	}
	var err error
	if drained != nil {
		t := time.NewTimer(p.cfg.closeDeadline)
		select {
		case <-drained:
		case <-t.C:
		case <-p.force:
		}
		t.Stop()
		p.mu.Lock()
		p.closing = false
		if p.total > 0 {
			err = fmt.Errorf("pooling: close %s: %w: %d", p.addr, ErrStillBorrowed, p.total)
		}
		p.mu.Unlock()
	}
	p.wg.Wait()
	close(p.done)
	return err
}

// closeNow closes the pool as Close does but does not wait for borrowed
// connections: they are closed as they come back. It is Factory's closer,
// which a balancer runs when an instance leaves: a connection still out
// there (a call in flight, or one an http.Transport keeps as its own idle
// connection) must not hold up the caller for the close deadline.
func (p *Pool[C]) closeNow() {
	if _, first := p.shut(false); !first {
		<-p.done
		return
	}
	p.wg.Wait() // background dials and the sweep end with p.bg
	close(p.done)
}

// shut is the first half of closing: Get fails from now on, waiters are
// woken with ErrClosed, background work stops and idle connections are
// closed. It reports false when the pool was closed already. With wait, it
// returns a channel closed once the last borrowed connection is back (nil
// when none is out).
func (p *Pool[C]) shut(wait bool) (drained chan struct{}, first bool) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false
	}
	p.closed = true
	// Raise hold before draining the lane, so that no Put parks a
	// connection there unseen (see pool_lane.go).
	p.hold.Add(holdClosed)
	p.stopWindowLocked()
	p.moveLaneLocked()
	idle := p.idle
	p.idle = nil
	p.total -= len(idle)
	for _, e := range idle {
		p.retireLocked(e)
	}
	for _, w := range p.waiters {
		w.ch <- grant[C]{err: ErrClosed}
	}
	p.hold.Add(-holdWaiter * int32(len(p.waiters)))
	p.waiters = nil
	if wait && p.total > 0 {
		drained = make(chan struct{})
		p.drained = drained
		p.closing = true
	}
	p.mu.Unlock()

	p.stopBg()
	for _, e := range idle {
		p.closeConn(e)
	}
	p.shutHTTP()
	return drained, true
}

// ForceClose ends the wait of a Close in progress, which then returns at
// once. It reports whether it interrupted one. Connections still borrowed
// are closed when they come back.
func (p *Pool[C]) ForceClose() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closing || p.forced {
		return false
	}
	p.forced = true
	close(p.force)
	return true
}
