package pooling

import (
	"sync/atomic"
	"time"
)

// The test-on-borrow window. HikariCP skips its liveness test for a
// connection used within the last 500 ms, reading the clock on every
// borrow; on virtual machines that reading can cost as much as the rest of
// a Get and Put together. Here a timer counts periods of the window's
// length instead, and Get compares a connection's period with the pool's:
// a connection last lent in an earlier period is tested. So one unborrowed
// for a whole window or longer is always tested, and a busy one at most
// about once per window, at no clock reading per Get.
//
// The timer runs only while connections are being lent: a period in which
// none was lent ends the ticking, and the next lend starts it again. Each
// tick, stop and start happens under Pool.mu. A Get from the lane reads the
// period without it (Pool.fit): a connection stamped in the current period
// needs neither test nor stamp, for the period has seen a lend already.

// window is the state of the test-on-borrow window, guarded by Pool.mu but
// for the period, which only Pool.mu writes.
type window struct {
	period  atomic.Uint32 // the current period
	ticking bool          // whether the timer is armed
	busy    bool          // whether a connection was lent in this period
	timer   *time.Timer   // made on the first lend
}

// stampLocked records that e is lent in the current period and makes sure
// the period will end.
func (p *Pool[C]) stampLocked(e *entry[C]) {
	w := &p.window
	e.period = w.period.Load()
	w.busy = true
	if w.ticking || p.closed {
		return
	}
	w.ticking = true
	if w.timer == nil {
		w.timer = time.AfterFunc(p.cfg.testAfter, p.tick)
	} else {
		w.timer.Reset(p.cfg.testAfter)
	}
}

// tick ends a period. The timer goes on only if the period saw a lend.
func (p *Pool[C]) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := &p.window
	w.period.Add(1)
	if w.busy && !p.closed {
		w.busy = false
		w.timer.Reset(p.cfg.testAfter)
		return
	}
	w.ticking = false
}

// stopWindowLocked stops the timer for Close.
func (p *Pool[C]) stopWindowLocked() {
	if w := &p.window; w.timer != nil {
		w.timer.Stop()
		w.ticking = false
	}
}
