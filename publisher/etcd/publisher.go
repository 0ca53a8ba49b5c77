package etcd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-kit/log/level"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/publisher"
)

// Errors published (wrapped) in events.
var (
	// ErrUnavailable wraps the error of a failed read or health probe.
	ErrUnavailable = errors.New("etcd: cluster unavailable")
	// ErrWatchClosed is how the publisher describes a watch channel that
	// closed without an error; it re-establishes the watch.
	ErrWatchClosed = errors.New("etcd: watch channel closed")
	// ErrHistoryLost wraps the description of a server whose history is not
	// the one the publisher watched: it came back with an older or empty
	// data directory (a restored backup, a lost disk), so its revision went
	// backwards or a key holds a revision the publisher never saw. The
	// publisher then reads the prefix again; Stats.LastReset holds the error.
	ErrHistoryLost = errors.New("etcd: server history lost")
)

// Reasons a watch ends without a failure, so that the prefix is read again
// before watching on.
var (
	// errRecovered: the cluster is reachable again after an outage.
	errRecovered = errors.New("etcd: cluster reachable again")
	// errReconnected: the client's connection came back; the server behind
	// it may have restarted with other data.
	errReconnected = errors.New("etcd: client reconnected")
)

// Stats describes a publisher's work so far.
type Stats struct {
	// Gets counts full reads of the prefix: one at start, one after each
	// compaction or failed read.
	Gets uint64
	// Watches counts watches established.
	Watches uint64
	// Events counts key changes applied from watches.
	Events uint64
	// Compactions counts watches that ended because their revision was
	// compacted.
	Compactions uint64
	// Malformed counts values skipped because they did not decode.
	Malformed uint64
	// Failures counts error events published.
	Failures uint64
	// Resets counts the times the server's history was found not to be the
	// one watched (see ErrHistoryLost), each followed by a fresh read.
	Resets uint64
	// LastReset describes the last of them (wrapping ErrHistoryLost), nil
	// if there was none. It stays after the fresh read succeeds.
	LastReset error
	// Invalid counts instances left out of events by the validator
	// (publisher.ValidateAll): two keys with the same address.
	Invalid uint64
	// Revision is the last etcd revision the publisher has applied.
	Revision int64
	// Instances is the size of the set published last (the last known set
	// while etcd fails).
	Instances int
	// LastErr is the error in force, nil when the last attempt succeeded.
	LastErr error
}

// Publisher publishes the instances stored under one key prefix in etcd.
// Create it with NewPublisher; Stop it when done.
type Publisher struct {
	fan publisher.Fanout

	client Client
	prefix string
	cfg    config

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu    sync.Mutex
	stats Stats

	// reconnected receives a token when the client's connection becomes
	// ready again after having been lost (see followConn).
	reconnected chan struct{}

	// Owned by the run goroutine.
	keys    map[string]entry
	rev     int64
	failing bool
}

// entry is what the publisher knows of one key: its instance (or why its
// value was skipped) and the revision it was last modified at, which tells
// a server that lost its history from one that kept it.
type entry struct {
	in  publisher.Instance
	bad error
	mod int64
}

var _ publisher.Publisher = (*Publisher)(nil)

// NewPublisher returns a publisher of the instances under prefix (for
// example "/services/api/"), read with c. Its goroutine starts at once,
// reads the prefix and then watches it, until Stop. An empty prefix is
// refused: the whole key space is never what a service's instances live
// under.
func NewPublisher(c Client, prefix string, opts ...Option) (*Publisher, error) {
	if nilarg.IsNil(c) {
		return nil, invalid("nil client")
	}
	if prefix == "" {
		return nil, invalid("empty key prefix")
	}
	cfg, err := newConfig(opts, Option.applyPublisher)
	if err != nil {
		return nil, err
	}
	p := &Publisher{client: c, prefix: prefix, cfg: cfg, done: make(chan struct{}), reconnected: make(chan struct{}, 1)}
	p.fan.SetLogger(cfg.logger)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	go p.run()
	return p, nil
}

// Stop ends the publisher's goroutine and its watch, waits for them, and
// closes every subscription. It is idempotent. It does not close the client.
func (p *Publisher) Stop() {
	p.once.Do(func() {
		p.cancel()
		<-p.done
		p.fan.Close()
	})
}

// Subscribe implements publisher.Publisher.
func (p *Publisher) Subscribe() *publisher.Subscription { return p.fan.Subscribe() }

// SetMetrics records every later update into m (see publisher.Metrics).
func (p *Publisher) SetMetrics(m *publisher.Metrics) { p.fan.SetMetrics(m) }

// Stats returns the publisher's statistics.
func (p *Publisher) Stats() Stats {
	p.mu.Lock()
	st := p.stats
	p.mu.Unlock()
	st.Invalid = p.fan.Dropped()
	if cur, ok := p.fan.Current(); ok {
		st.Instances = len(cur.Instances)
	}
	return st
}

func (p *Publisher) run() {
	defer close(p.done)
	// clientv3 resumes its watches on a new connection from the last
	// revision it saw, which is right only if the server kept its
	// history: each reconnection makes the publisher check.
	conn := connOf(p.client)
	monitored := conn != nil
	if monitored {
		var wg sync.WaitGroup
		wg.Go(func() { followConn(p.ctx, conn, RedialInterval, func() { token(p.reconnected) }) })
		defer wg.Wait()
	}
	bo := backoff.Counter{Policy: p.cfg.backoff}
	needGet := true
	for p.ctx.Err() == nil {
		if needGet {
			if err := p.load(); err != nil {
				if p.ctx.Err() != nil {
					return
				}
				p.fail(err)
				p.pause(bo.Next()) // the read comes next either way
				continue
			}
			needGet = false
		}
		progressed, err := p.watch()
		if progressed {
			bo.Reset()
		}
		switch {
		case p.ctx.Err() != nil:
			return
		case errors.Is(err, rpctypes.ErrCompacted):
			// The revisions we missed are gone: read the whole prefix.
			p.count(func(s *Stats) { s.Compactions++ })
			level.Warn(p.cfg.logger).Log("component", "etcd", "prefix", p.prefix, "msg", "watch revision compacted, reading the prefix again", "rev", p.rev+1)
			needGet = true
		case errors.Is(err, errRecovered) && monitored:
			// Watch again at once from the last revision seen. Had the
			// connection been lost, its return brings errReconnected.
		case errors.Is(err, errRecovered), errors.Is(err, errReconnected), errors.Is(err, ErrHistoryLost):
			// The server may not be the one watched before (restarted
			// from an older or empty data directory, which clientv3's
			// own resumed watch never notices): read the prefix again,
			// which also tells whether it is. Without a connection to
			// watch, every recovery is such a case.
			needGet = true
		default:
			// No leader, a closed client, a cancelled stream: report it and
			// watch again from the last revision after a pause.
			p.fail(fmt.Errorf("%w: watch %s: %w", ErrUnavailable, p.prefix, err))
			if p.pause(bo.Next()) {
				needGet = true
			}
		}
	}
}

// pause waits d, or less if the client's connection comes back meanwhile
// (a restarted server is worth trying at once); it reports whether it did.
func (p *Publisher) pause(d time.Duration) (reconnected bool) {
	woken, _ := backoff.SleepOrWake(p.ctx, d, p.reconnected)
	return woken
}

// load reads the whole prefix and publishes it. If what it reads shows a
// server history other than the one watched so far, it counts a reset.
func (p *Publisher) load() error {
	select {
	case <-p.reconnected: // this read is after that reconnection
	default:
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.timeout)
	defer cancel()
	resp, err := p.client.Get(ctx, p.prefix, clientv3.WithPrefix())
	p.count(func(s *Stats) { s.Gets++ })
	if err != nil {
		return fmt.Errorf("%w: get %s: %w", ErrUnavailable, p.prefix, err)
	}
	if resp == nil || resp.Header == nil {
		return fmt.Errorf("%w: get %s: response without header", ErrUnavailable, p.prefix)
	}
	if lost := p.historyLost(resp); lost != nil {
		p.reset(lost)
	}
	p.keys = make(map[string]entry, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		p.put(kv)
	}
	p.rev = resp.Header.Revision
	p.publish()
	return nil
}

// historyLost compares a fresh read with what the publisher knew, and
// describes (wrapping ErrHistoryLost) why they cannot be the same history,
// or returns nil. A server that kept its history has a revision at least
// ours, and every key it modified at or before our revision is one we know
// at that very revision.
func (p *Publisher) historyLost(resp *clientv3.GetResponse) error {
	if p.keys == nil {
		return nil // the first read
	}
	if rev := resp.Header.Revision; rev < p.rev {
		return fmt.Errorf("%w: revision %d, below the %d already seen", ErrHistoryLost, rev, p.rev)
	}
	for _, kv := range resp.Kvs {
		if kv == nil || kv.ModRevision > p.rev {
			continue
		}
		if e, ok := p.keys[string(kv.Key)]; !ok || e.mod != kv.ModRevision {
			return fmt.Errorf("%w: key %s modified at revision %d, unknown to the watch that reached %d",
				ErrHistoryLost, kv.Key, kv.ModRevision, p.rev)
		}
	}
	return nil
}

// reset records a lost history.
func (p *Publisher) reset(lost error) {
	level.Warn(p.cfg.logger).Log("component", "etcd", "prefix", p.prefix, "msg", "server history lost, prefix read again", "err", lost)
	p.count(func(s *Stats) { s.Resets++; s.LastReset = lost })
}

// watch watches the prefix from the revision after the last one applied,
// until the watch ends, the cluster recovers from an outage, or Stop. It
// reports whether any response arrived.
func (p *Publisher) watch() (progressed bool, err error) {
	// WithRequireLeader makes a member cut off from its cluster end the
	// watch instead of leaving it silently stale.
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(p.ctx))
	// clientv3's Watch blocks until the server has created the watch, which
	// an unreachable cluster never does: call it aside so that the probe
	// keeps running meanwhile. Cancelling ctx makes it return.
	ready := make(chan clientv3.WatchChan, 1)
	go func() {
		ready <- p.client.Watch(ctx, p.prefix, clientv3.WithPrefix(), clientv3.WithRev(p.rev+1))
	}()
	var wch clientv3.WatchChan // nil, so never ready, until Watch returns
	defer func() {
		cancel()
		if wch == nil {
			<-ready // the Watch call ends with ctx: nothing outlives Stop
		}
	}()
	p.count(func(s *Stats) { s.Watches++ })
	probe := time.NewTicker(p.cfg.healthInterval)
	defer probe.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return progressed, nil
		case wch = <-ready:
		case wr, ok := <-wch:
			if !ok {
				return progressed, ErrWatchClosed
			}
			if err := wr.Err(); err != nil {
				return progressed, err
			}
			if rev := wr.Header.GetRevision(); rev != 0 && rev < p.rev {
				return progressed, fmt.Errorf("%w: watch at revision %d, below the %d already seen", ErrHistoryLost, rev, p.rev)
			}
			progressed = true
			p.apply(&wr)
		case <-p.reconnected:
			return progressed, errReconnected
		case <-probe.C:
			err := p.probe()
			switch {
			case p.ctx.Err() != nil:
				return progressed, nil
			case errors.Is(err, ErrHistoryLost):
				return progressed, err
			case err != nil:
				p.fail(err)
			case p.failing:
				// Reachable again. The client may or may not have resumed
				// the old watch, on a server that may or may not have kept
				// its history: watch afresh, and read the prefix again
				// unless the connection's state tells.
				p.publish()
				return progressed, errRecovered
			}
		}
	}
}

// probe does a cheap linearizable read, which needs a leader and a quorum.
// A revision below the one already seen means the server lost its history.
func (p *Publisher) probe() error {
	ctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(p.ctx), p.cfg.timeout)
	defer cancel()
	resp, err := p.client.Get(ctx, p.prefix, clientv3.WithCountOnly())
	if err != nil {
		return fmt.Errorf("%w: health probe: %w", ErrUnavailable, err)
	}
	if rev := resp.Header.GetRevision(); rev != 0 && rev < p.rev {
		return fmt.Errorf("%w: revision %d, below the %d already seen", ErrHistoryLost, rev, p.rev)
	}
	return nil
}

// apply applies one watch response.
func (p *Publisher) apply(wr *clientv3.WatchResponse) {
	if rev := wr.Header.GetRevision(); rev > p.rev {
		p.rev = rev
	}
	if len(wr.Events) == 0 {
		if p.failing {
			p.publish() // the watch works again: clear the error
		}
		return
	}
	for _, ev := range wr.Events {
		if ev == nil || ev.Kv == nil {
			continue
		}
		switch ev.Type {
		case mvccpb.PUT:
			p.put(ev.Kv)
		case mvccpb.DELETE:
			delete(p.keys, string(ev.Kv.Key))
		}
	}
	p.count(func(s *Stats) { s.Events += uint64(len(wr.Events)) })
	p.publish()
}

// put records one key's value, or why it was skipped when the value is
// malformed (the key then counts as absent, and each event says so).
func (p *Publisher) put(kv *mvccpb.KeyValue) {
	key := string(kv.Key)
	in, err := DecodeValue(kv.Value)
	if err != nil {
		err = fmt.Errorf("key %s: %w", key, err)
		p.keys[key] = entry{bad: err, mod: kv.ModRevision}
		p.count(func(s *Stats) { s.Malformed++ })
		level.Warn(p.cfg.logger).Log("component", "etcd", "key", key, "msg", "value skipped", "err", err)
		return
	}
	p.keys[key] = entry{in: in, mod: kv.ModRevision}
}

// publish publishes the current set, in key order, so that when two keys
// hold one address the validator keeps the first key's; the event's
// Invalid describes the skipped values and that duplicate.
func (p *Publisher) publish() {
	keys := make([]string, 0, len(p.keys))
	for k := range p.keys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	ins := make([]publisher.Instance, 0, len(keys))
	var bad []error
	for _, k := range keys {
		if e := p.keys[k]; e.bad != nil {
			bad = append(bad, e.bad)
		} else {
			ins = append(ins, e.in)
		}
	}
	p.failing = false
	ev := publisher.Event{Instances: ins, Invalid: publisher.NewInvalidError(bad...)}
	p.count(func(s *Stats) {
		s.Revision, s.LastErr = p.rev, nil
	})
	p.fan.Publish(ev)
}

// fail publishes err; subscribers keep the last known instances.
func (p *Publisher) fail(err error) {
	level.Error(p.cfg.logger).Log("component", "etcd", "prefix", p.prefix, "err", err)
	p.failing = true
	p.count(func(s *Stats) { s.Failures++; s.LastErr = err })
	p.fan.Publish(publisher.Event{Err: err})
}

func (p *Publisher) count(f func(*Stats)) {
	p.mu.Lock()
	f(&p.stats)
	p.mu.Unlock()
}
