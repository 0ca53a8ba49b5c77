package pooling

import "time"

// Test hooks. Rather than a clock that tests could move, which would cross
// the package boundary, tests make connections older: AgeIdle ages every
// idle connection of p by d, AgeConn the borrowed connection c, so that idle
// timeouts, lifetimes and the test-on-borrow window can be tested without
// waiting for them.

func AgeIdle[C any](p *Pool[C], d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.idle {
		p.age(e, d)
	}
	// Those in the lane stay there, for Get to meet.
	for i := range p.lane {
		if e := p.lane[i].e.Swap(nil); e != nil {
			p.age(e, d)
			p.lane[i].e.Store(e)
		}
	}
}

func AgeConn[C any](c Conn[C], d time.Duration) {
	p := c.e.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	p.age(c.e, d)
}

func (p *Pool[C]) age(e *entry[C], d time.Duration) {
	e.created -= int64(d)
	e.returned -= int64(d)
	e.lent -= int64(d)
	if p.windowed && d >= p.cfg.testAfter {
		e.period = p.window.period.Load() - 1 // lent in a window now over
	}
}

// SetParkHook sets a function that Put runs after it has looked for waiting
// Gets and before it parks a connection in the lane; nil removes it.
func SetParkHook(f func()) { testHookPark = f }
