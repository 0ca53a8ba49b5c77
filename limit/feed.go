package limit

// Leases returns the channel from which leases of any key with room are
// received, one at a time: a supervisor ranges over it and starts a worker
// per lease, and each key gets workers up to its target. Only keys given a
// target with Set are offered. Keys take turns, and waiting Acquire calls
// come first: the lease on offer is withdrawn when one arrives for its key.
// The channel closes when the limiter is closed.
//
// The first call starts the one goroutine that feeds the channel; it ends
// on Close.
func (lim *Limiter[K]) Leases() <-chan *Lease[K] {
	lim.feedOnce.Do(func() {
		lim.mu.Lock()
		defer lim.mu.Unlock()
		lim.feed = make(chan *Lease[K])
		if lim.closed.Load() {
			close(lim.feed)
			return
		}
		lim.feeding.Store(true)
		lim.feedWG.Add(1)
		go lim.run()
	})
	return lim.feed
}

// poke tells the feeder that counts changed. It costs nothing when no
// feeder runs, so Acquire and Release touch no channel shared by all keys.
func (lim *Limiter[K]) poke() {
	if !lim.feeding.Load() {
		return
	}
	select {
	case lim.wake <- struct{}{}:
	default:
	}
}

func (lim *Limiter[K]) run() {
	defer lim.feedWG.Done()
	defer close(lim.feed)
	for {
		g, l := lim.offer()
		if g == nil {
			select {
			case <-lim.wake:
				continue
			case <-lim.done:
				return
			}
		}
		if !lim.deliver(g, l) {
			return
		}
	}
}

// offer reserves a lease of the next pinned key with room and no waiters.
func (lim *Limiter[K]) offer() (*group[K], *Lease[K]) {
	var room []*group[K]
	lim.groups.Range(func(_, v any) bool {
		g := v.(*group[K])
		g.mu.Lock()
		if !g.dead && g.pinned && g.waiters.empty() && g.active < g.target {
			room = append(room, g)
		}
		g.mu.Unlock()
		return true
	})
	for len(room) > 0 {
		lim.turn++
		i := lim.turn % len(room)
		g := room[i]
		g.mu.Lock()
		if !g.dead && g.pinned && g.waiters.empty() && g.active < g.target {
			g.active++
			g.offered++
			g.mu.Unlock()
			return g, lim.newLease(g)
		}
		g.mu.Unlock()
		room = append(room[:i], room[i+1:]...)
	}
	return nil, nil
}

// deliver offers l until it is received, or withdraws it when the key no
// longer should have it. Changes are looked at before each offer, so a
// target lowered (or a waiter queued) before a receive began is always
// honoured. It reports false when the limiter was closed.
func (lim *Limiter[K]) deliver(g *group[K], l *Lease[K]) bool {
	for {
		select {
		case <-lim.wake:
			if lim.withdraw(g) {
				return true
			}
			continue
		case <-lim.done:
			return false
		default:
		}
		select {
		case lim.feed <- l:
			g.mu.Lock()
			g.offered--
			g.mu.Unlock()
			return true
		case <-lim.wake:
			if lim.withdraw(g) {
				return true
			}
		case <-lim.done:
			return false
		}
	}
}

// withdraw takes back the lease on offer if its key should not have it any
// more, and reports whether it did.
func (lim *Limiter[K]) withdraw(g *group[K]) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.waiters.empty() && g.pinned && g.active <= g.target {
		return false // still rightfully on offer
	}
	g.offered--
	g.active--
	lim.grantWaiters(g)
	lim.forget(g)
	return true
}
