package publisher

import (
	"cmp"
	"slices"
	"sync"
)

// Fanout delivers events to any number of subscribers with latest-state-wins
// semantics. It is the building block for publishers: every lbkit publisher
// keeps one in an unexported field and forwards Subscribe to it, so Publish
// stays off its API; a discovery source of your own can do the same, or
// embed it (see examples/customdiscovery).
//
// The zero value is ready to use. All methods are safe for concurrent use.
//
// Each subscription owns a channel with room for one event. Publish never
// blocks: when a subscriber has not yet read the previous event, that event
// is replaced by the new one. Since every event is a complete state, nothing
// is lost but intermediate states.
type Fanout struct {
	mu      sync.Mutex
	cur     Event
	has     bool
	closed  bool
	subs    map[*Subscription]struct{}
	metrics *Metrics
}

// Subscription is one subscriber's view of a publisher. Receive events from
// C; call Cancel when done. The channel is closed when the subscription is
// cancelled or the publisher stops.
type Subscription struct {
	ch chan Event
	f  *Fanout
}

// C returns the channel that carries the latest event.
func (s *Subscription) C() <-chan Event { return s.ch }

// Cancel ends the subscription and closes its channel. It is idempotent and
// safe to call concurrently with Publish.
func (s *Subscription) Cancel() {
	if s.f == nil {
		return
	}
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[s]; ok {
		delete(f.subs, s)
		close(s.ch)
	}
}

// Subscribe registers a new subscriber. Its channel already holds the current
// state if one has been published. After Close, Subscribe returns a
// subscription whose channel is closed.
func (f *Fanout) Subscribe() *Subscription {
	s := &Subscription{ch: make(chan Event, 1), f: f}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		close(s.ch)
		return s
	}
	if f.subs == nil {
		f.subs = make(map[*Subscription]struct{})
	}
	f.subs[s] = struct{}{}
	if f.has {
		s.ch <- f.cur // room for one: the channel is new
	}
	return s
}

// Publish makes ev the current state and offers it to every subscriber.
//
// The instances are copied and sorted by address, so the caller may reuse its
// slice. An event with an error and no instances keeps the last known
// instances, so subscribers can go on using them. An event equal to the
// current state is delivered again (a consumer may use it to retry what
// failed last time, as the endpoint cache does with failed factory calls).
// Publish after Close does nothing.
func (f *Fanout) Publish(ev Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	if ev.Err != nil && len(ev.Instances) == 0 {
		ev.Instances = f.cur.Instances
	} else {
		ins := slices.Clone(ev.Instances)
		slices.SortStableFunc(ins, func(a, b Instance) int { return cmp.Compare(a.Address, b.Address) })
		ev.Instances = ins
	}
	f.cur, f.has = ev, true
	f.record(ev)
	for s := range f.subs {
		offer(s.ch, ev)
	}
}

// Current returns the current state and whether there is one.
func (f *Fanout) Current() (Event, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur, f.has
}

// Closed reports whether Close has been called.
func (f *Fanout) Closed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// Close closes every subscription. Later Subscribe calls get closed
// subscriptions and Publish does nothing. Close is idempotent.
func (f *Fanout) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	for s := range f.subs {
		close(s.ch)
	}
	f.subs = nil
}

// offer puts ev into a one-slot channel, replacing whatever unread event is
// there. The caller is the channel's only sender (it holds Fanout.mu), so the
// second attempt always succeeds.
func offer(ch chan Event, ev Event) {
	for {
		select {
		case ch <- ev:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}
