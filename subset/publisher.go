package subset

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/publisher"
)

// ErrInvalidArgument is wrapped by every error this package returns for an
// argument it cannot use. It wraps publisher.ErrInvalidArgument, so
// errors.Is matches either.
var ErrInvalidArgument = fmt.Errorf("subset: %w", publisher.ErrInvalidArgument)

// Coordinate says where a client stands among the clients that share the
// backends: Fixed gives its rank and the count outright, Peers finds both
// from discovery. The zero Coordinate is invalid.
type Coordinate struct {
	rank, count int
	peers       publisher.Publisher
	self        string
	set         bool
	fromPeers   bool
}

// Fixed is the coordinate of client rank among count clients, numbered from
// 0: a StatefulSet ordinal, a shard number, a task index. Every client
// must be given a different rank and the same count.
func Fixed(rank, count int) Coordinate {
	return Coordinate{rank: rank, count: count, set: true}
}

// Peers is a coordinate found by discovery: peers publishes the clients
// themselves (each registers under its own ID, with the same registrar as
// the backends or another) and self is this client's ID there, the
// instance address it registered (for Consul and etcd a host:port, such
// as the client's own listener). The client's rank is the position of self among the
// sorted IDs, the count their number; both follow the peers as they join
// and leave. A client not (or not yet, or no longer) among the peers
// counts itself in, so it has a subset before its own registration shows.
func Peers(peers publisher.Publisher, self string) Coordinate {
	return Coordinate{peers: peers, self: self, set: true, fromPeers: true}
}

// Stats is a snapshot of a subsetting publisher's state.
type Stats struct {
	// Ready reports whether a subset has been published: once both the
	// backends and the coordinate are known (for LowChurn, the backends).
	Ready bool
	// Rank and Count are the client's coordinate in force (-1 and 0
	// until the peers are known).
	Rank, Count int
	// Size is the subset size asked for.
	Size int
	// Design is how the subset is chosen (WithDesign).
	Design Design
	// Backends is how many backends the upstream publisher offers.
	Backends int
	// Subset holds the addresses of the backends this client uses, in
	// ring order (Balanced) or highest score first (LowChurn).
	Subset []string
	// Changes counts the backends that entered or left the subset since
	// New: this client's part of the fleet's connection churn (the
	// metric Metrics.Changes counts the same from SetMetrics on).
	Changes uint64
	// Changed is when the subset last changed, or when the first one
	// was published; zero until Ready.
	Changed time.Time
}

// Publisher is a publisher.Publisher that passes on, of every event of a
// backend publisher, only this client's subset of the instances (see
// Assign), so that it composes in front of loadbalancer.New (with
// pooling.Factory or any other factory) unchanged: the balancer's endpoint
// cache and pools then hold only the subset's connections. A discovery
// error passes through with the subset of the last known instances.
//
// It runs one goroutine, ended by Stop. It does not own the publishers it
// reads: Stop leaves them running. When the backend publisher stops, so
// does this one (its subscriptions close); when the peers publisher stops,
// the last known peers stay in force.
type Publisher struct {
	fan     publisher.Fanout
	size    int
	design  Design
	self    string
	backSub *publisher.Subscription
	peerSub *publisher.Subscription
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once

	// Owned by the goroutine (and New before it starts).
	back      publisher.Event
	haveBack  bool
	havePeers bool
	rank      int
	count     int

	mu    sync.Mutex
	stats Stats
	m     *Metrics // SetMetrics; nil records nothing
}

var _ publisher.Publisher = (*Publisher)(nil)

// New returns a publisher of the subset of backends' instances that the
// client at coordinate at uses, size of them. It subscribes to backends
// (and to the peers of a Peers coordinate) at once and publishes the
// first subset before returning when both have a current state, so a
// static publisher's subset is usable immediately. The subset is Assign's
// unless WithDesign(LowChurn) chooses AssignLowChurn's, for which the
// client's name is the self ID of a Peers coordinate, or the rank of a
// Fixed one in decimal.
//
// A nil or typed-nil publisher, size < 1, a zero Coordinate, a Fixed rank
// outside [0, count), a Peers coordinate with an empty self or a bad
// option is an error wrapping ErrInvalidArgument.
func New(backends publisher.Publisher, size int, at Coordinate, opts ...Option) (*Publisher, error) {
	if nilarg.IsNil(backends) {
		return nil, fmt.Errorf("%w: nil backend publisher", ErrInvalidArgument)
	}
	if !at.set {
		return nil, fmt.Errorf("%w: zero Coordinate: use Fixed or Peers", ErrInvalidArgument)
	}
	var cfg config
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil Option", ErrInvalidArgument)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	p := &Publisher{size: size, design: cfg.design, done: make(chan struct{}), rank: -1}
	if !at.fromPeers {
		if err := checkCoordinate(at.rank, at.count, size); err != nil {
			return nil, err
		}
		p.rank, p.count, p.havePeers = at.rank, at.count, true
		p.self = strconv.Itoa(at.rank)
	} else {
		if err := checkCoordinate(0, 1, size); err != nil {
			return nil, err
		}
		if nilarg.IsNil(at.peers) {
			return nil, fmt.Errorf("%w: nil peers publisher", ErrInvalidArgument)
		}
		if at.self == "" {
			return nil, fmt.Errorf("%w: empty self ID", ErrInvalidArgument)
		}
		p.self = at.self
		p.peerSub = at.peers.Subscribe()
	}
	p.stats = Stats{Rank: p.rank, Count: p.count, Size: size, Design: p.design}
	p.backSub = backends.Subscribe()
	changed := false
	if p.peerSub != nil {
		select {
		case ev, ok := <-p.peerSub.C():
			if ok {
				changed = p.setPeers(ev) || changed
			}
		default:
		}
	}
	select {
	case ev, ok := <-p.backSub.C():
		if ok {
			p.back, p.haveBack, changed = ev, true, true
		}
	default:
	}
	if changed {
		p.publish()
	}
	p.wg.Add(1)
	go p.run()
	return p, nil
}

func (p *Publisher) run() {
	defer p.wg.Done()
	var peers <-chan publisher.Event
	if p.peerSub != nil {
		peers = p.peerSub.C()
	}
	for {
		select {
		case ev, ok := <-p.backSub.C():
			if !ok {
				// The backends are gone for good: say so downstream the
				// same way, by closing every subscription.
				p.fan.Close()
				return
			}
			p.back, p.haveBack = ev, true
			p.publish()
		case ev, ok := <-peers:
			if !ok {
				peers = nil // keep the last known peers
				continue
			}
			if p.setPeers(ev) {
				p.publish()
			}
		case <-p.done:
			return
		}
	}
}

// setPeers takes the peers' latest instances as the clients, with self
// among them, and reports whether the coordinate changed.
func (p *Publisher) setPeers(ev publisher.Event) bool {
	ids := publisher.Addresses(ev.Instances) // sorted and distinct: the fan-out validated them
	at, found := slices.BinarySearch(ids, p.self)
	if !found {
		ids = slices.Insert(ids, at, p.self)
	}
	changed := !p.havePeers || at != p.rank || len(ids) != p.count
	p.havePeers, p.rank, p.count = true, at, len(ids)
	p.mu.Lock()
	p.stats.Rank, p.stats.Count = at, len(ids)
	p.recordLocked(0)
	p.mu.Unlock()
	return changed
}

// publish passes on the current backend event cut down to this client's
// subset, once both the backends and the coordinate are known (for
// LowChurn, once the backends are).
func (p *Publisher) publish() {
	// LowChurn needs only the client's own name, so it does not wait for
	// the peers.
	if !p.haveBack || (!p.havePeers && p.design != LowChurn) {
		return
	}
	addr := func(in publisher.Instance) string { return in.Address }
	var mine []publisher.Instance
	if p.design == LowChurn {
		mine = rendezvous(p.back.Instances, p.self, p.size, addr)
	} else {
		mine = window(ringOrder(p.back.Instances, addr), p.rank, p.count, p.size)
	}
	subset := publisher.Addresses(mine)
	p.mu.Lock()
	changed, when := 0, p.stats.Changed
	if p.stats.Ready {
		changed = symmetricDifference(sortedCopy(p.stats.Subset), sortedCopy(subset))
	}
	if changed > 0 || !p.stats.Ready {
		when = time.Now()
	}
	p.stats = Stats{
		Ready:    true,
		Rank:     p.rank,
		Count:    p.count,
		Size:     p.size,
		Design:   p.design,
		Backends: len(p.back.Instances),
		Subset:   subset,
		Changes:  p.stats.Changes + uint64(changed),
		Changed:  when,
	}
	p.recordLocked(changed)
	p.mu.Unlock()
	p.fan.Publish(publisher.Event{Instances: mine, Err: p.back.Err, Invalid: p.back.Invalid})
}

// Stats returns a snapshot of the client's coordinate and subset.
func (p *Publisher) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Subset = slices.Clone(s.Subset)
	return s
}

// Subscribe implements publisher.Publisher.
func (p *Publisher) Subscribe() *publisher.Subscription { return p.fan.Subscribe() }

// Stop implements publisher.Publisher: it ends the goroutine, cancels the
// subscriptions to the backends and peers (leaving those publishers
// running) and closes every subscription to p. It is idempotent.
func (p *Publisher) Stop() {
	p.once.Do(func() {
		close(p.done)
		p.wg.Wait()
		p.backSub.Cancel()
		if p.peerSub != nil {
			p.peerSub.Cancel()
		}
		p.fan.Close()
	})
}
