package publisher

import (
	"errors"
	"slices"
	"sync"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
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
	logger  log.Logger
	dropped uint64
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
// The instances are validated by ValidateAll (copied and sorted by
// address, so the caller may reuse its slice): each invalid or duplicate
// instance is left out, logged at warning level, counted (Dropped and
// Metrics.Invalid) and described in the event's Invalid error, joined to
// any Invalid the caller set. When every instance offered was invalid, the
// event becomes an error event (Err = that description). An event with an
// error and no instances keeps the last known instances, so subscribers
// can go on using them. An event equal to the current state is delivered
// again (a consumer may use it to retry what failed last time, as the
// balancer does with failed factory calls). Publish after Close does
// nothing.
func (f *Fanout) Publish(ev Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	offered := len(ev.Instances)
	ins, ie := validate(ev.Instances)
	if ie != nil {
		f.dropped += uint64(ie.Dropped)
		f.logDropped(ie)
		var theirs *InvalidError
		switch {
		case ev.Invalid == nil:
			ev.Invalid = ie
		case errors.As(ev.Invalid, &theirs):
			// One description of everything left out: the source's
			// drops first, then the validator's.
			merged := &InvalidError{Dropped: theirs.Dropped + ie.Dropped, Reasons: slices.Clone(theirs.Reasons)}
			for _, r := range ie.Reasons {
				if len(merged.Reasons) < maxInvalidReasons {
					merged.Reasons = append(merged.Reasons, r)
				}
			}
			ev.Invalid = merged
		default:
			ev.Invalid = errors.Join(ev.Invalid, ie)
		}
		if ev.Err == nil && len(ins) == 0 && offered > 0 {
			ev.Err = ie // nothing usable: a failure of the source
		}
	}
	if ev.Err != nil && len(ins) == 0 {
		ev.Instances = f.cur.Instances
	} else {
		ev.Instances = ins
	}
	f.cur, f.has = ev, true
	f.record(ev, ie)
	for s := range f.subs {
		offer(s.ch, ev)
	}
}

// logDropped logs the reasons ie kept, and how many more there were.
// Called with f.mu held.
func (f *Fanout) logDropped(ie *InvalidError) {
	if f.logger == nil {
		return
	}
	for _, r := range ie.Reasons {
		level.Warn(f.logger).Log("component", "publisher", "msg", "instance dropped", "err", r)
	}
	if more := ie.Dropped - len(ie.Reasons); more > 0 {
		level.Warn(f.logger).Log("component", "publisher", "msg", "more instances dropped", "count", more)
	}
}

// SetLogger makes Publish log every instance it drops (the first few of
// each event, then a count), at warning level. A nil logger logs nothing,
// as does the zero Fanout.
func (f *Fanout) SetLogger(l log.Logger) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logger = l
}

// Dropped returns how many instances Publish has left out as invalid or
// duplicate so far.
func (f *Fanout) Dropped() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dropped
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
