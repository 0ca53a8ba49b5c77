package lease

// Leases returns the channel from which leases of any key with room are
// received, one at a time: a supervisor ranges over it and starts a worker
// per lease, and each key gets workers up to its target. Only keys given a
// target with Set are offered. Keys take turns, and waiting Acquire calls
// come first: the lease on offer is withdrawn when one arrives for its key.
// The channel closes when the pool stops.
//
// The first call starts the one goroutine that feeds the channel; it ends
// on Stop.
func (p *Pool[K]) Leases() <-chan *Lease[K] {
	p.feedOnce.Do(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.feed = make(chan *Lease[K])
		if p.stopped.Load() {
			close(p.feed)
			return
		}
		p.feeding.Store(true)
		p.feedWG.Add(1)
		go p.run()
	})
	return p.feed
}

// poke tells the feeder that counts changed. It costs nothing when no
// feeder runs, so Acquire and Release touch no channel shared by all keys.
func (p *Pool[K]) poke() {
	if !p.feeding.Load() {
		return
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Pool[K]) run() {
	defer p.feedWG.Done()
	defer close(p.feed)
	for {
		g, l := p.offer()
		if g == nil {
			select {
			case <-p.wake:
				continue
			case <-p.done:
				return
			}
		}
		if !p.deliver(g, l) {
			return
		}
	}
}

// offer reserves a lease of the next pinned key with room and no waiters.
func (p *Pool[K]) offer() (*group[K], *Lease[K]) {
	var room []*group[K]
	p.groups.Range(func(_, v any) bool {
		g := v.(*group[K])
		g.mu.Lock()
		if !g.dead && g.pinned && g.waiters.empty() && g.active < g.target {
			room = append(room, g)
		}
		g.mu.Unlock()
		return true
	})
	for len(room) > 0 {
		p.turn++
		i := p.turn % len(room)
		g := room[i]
		g.mu.Lock()
		if !g.dead && g.pinned && g.waiters.empty() && g.active < g.target {
			g.active++
			g.offered++
			g.mu.Unlock()
			return g, p.newLease(g)
		}
		g.mu.Unlock()
		room = append(room[:i], room[i+1:]...)
	}
	return nil, nil
}

// deliver offers l until it is received, or withdraws it when the key no
// longer should have it. Changes are looked at before each offer, so a
// target lowered (or a waiter queued) before a receive began is always
// honoured. It reports false when the pool stopped.
func (p *Pool[K]) deliver(g *group[K], l *Lease[K]) bool {
	for {
		select {
		case <-p.wake:
			if p.withdraw(g) {
				return true
			}
			continue
		case <-p.done:
			return false
		default:
		}
		select {
		case p.feed <- l:
			g.mu.Lock()
			g.offered--
			g.mu.Unlock()
			return true
		case <-p.wake:
			if p.withdraw(g) {
				return true
			}
		case <-p.done:
			return false
		}
	}
}

// withdraw takes back the lease on offer if its key should not have it any
// more, and reports whether it did.
func (p *Pool[K]) withdraw(g *group[K]) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.waiters.empty() && g.pinned && g.active <= g.target {
		return false // still rightfully on offer
	}
	g.offered--
	g.active--
	p.grantWaiters(g)
	p.forget(g)
	return true
}
