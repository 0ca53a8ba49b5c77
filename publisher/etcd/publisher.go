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
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/internal/nilarg"
)

// Errors published (wrapped) in events.
var (
	// ErrUnavailable wraps the error of a failed read or health probe.
	ErrUnavailable = errors.New("etcd: cluster unavailable")
	// ErrWatchClosed is how the publisher describes a watch channel that
	// closed without an error; it re-establishes the watch.
	ErrWatchClosed = errors.New("etcd: watch channel closed")
)

// errRecovered ends a watch after an outage so that a fresh one is
// established from the last revision seen.
var errRecovered = errors.New("etcd: cluster reachable again")

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
	// Revision is the last etcd revision the publisher has applied.
	Revision int64
	// Instances is the size of the last published set.
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

	// Owned by the run goroutine.
	keys    map[string]publisher.Instance
	rev     int64
	failing bool
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
	p := &Publisher{client: c, prefix: prefix, cfg: cfg, done: make(chan struct{})}
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
	defer p.mu.Unlock()
	return p.stats
}

func (p *Publisher) run() {
	defer close(p.done)
	bo := backoff.Counter{Policy: p.cfg.backoff}
	needGet := true
	for p.ctx.Err() == nil {
		if needGet {
			if err := p.load(); err != nil {
				if p.ctx.Err() != nil {
					return
				}
				p.fail(err)
				backoff.Sleep(p.ctx, bo.Next())
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
		case errors.Is(err, errRecovered):
			// Watch again at once from the last revision seen.
		default:
			// No leader, a closed client, a cancelled stream: report it and
			// watch again from the last revision after a pause.
			p.fail(fmt.Errorf("%w: watch %s: %w", ErrUnavailable, p.prefix, err))
			backoff.Sleep(p.ctx, bo.Next())
		}
	}
}

// load reads the whole prefix and publishes it.
func (p *Publisher) load() error {
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
	p.keys = make(map[string]publisher.Instance, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		p.put(kv)
	}
	p.rev = resp.Header.Revision
	p.publish()
	return nil
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
			progressed = true
			p.apply(&wr)
		case <-probe.C:
			err := p.probe()
			switch {
			case p.ctx.Err() != nil:
				return progressed, nil
			case err != nil:
				p.fail(err)
			case p.failing:
				// Reachable again. The client may or may not have resumed
				// the old watch; a fresh one from our revision is certain
				// and costs no re-read.
				p.publish()
				return progressed, errRecovered
			}
		}
	}
}

// probe does a cheap linearizable read, which needs a leader and a quorum.
func (p *Publisher) probe() error {
	ctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(p.ctx), p.cfg.timeout)
	defer cancel()
	if _, err := p.client.Get(ctx, p.prefix, clientv3.WithCountOnly()); err != nil {
		return fmt.Errorf("%w: health probe: %w", ErrUnavailable, err)
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

// put records one key's value, or forgets the key when the value is
// malformed.
func (p *Publisher) put(kv *mvccpb.KeyValue) {
	key := string(kv.Key)
	in, err := DecodeValue(kv.Value)
	if err != nil {
		delete(p.keys, key)
		p.count(func(s *Stats) { s.Malformed++ })
		level.Warn(p.cfg.logger).Log("component", "etcd", "key", key, "msg", "value skipped", "err", err)
		return
	}
	p.keys[key] = in
}

// publish publishes the current set: one instance per address, from the
// first key holding it.
func (p *Publisher) publish() {
	keys := make([]string, 0, len(p.keys))
	for k := range p.keys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	seen := make(map[string]bool, len(keys))
	ins := make([]publisher.Instance, 0, len(keys))
	for _, k := range keys {
		in := p.keys[k]
		if seen[in.Address] {
			continue
		}
		seen[in.Address] = true
		ins = append(ins, in)
	}
	p.failing = false
	p.count(func(s *Stats) {
		s.Revision, s.Instances, s.LastErr = p.rev, len(ins), nil
	})
	p.fan.Publish(publisher.Event{Instances: ins})
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
