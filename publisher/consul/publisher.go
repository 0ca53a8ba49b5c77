package consul

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log/level"
	"github.com/hashicorp/consul/api"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/publisher"
)

// ErrQuery is wrapped by the Event.Err of a failed health query, together
// with the client's own error.
var ErrQuery = errors.New("consul: health query failed")

// Publisher publishes the instances of one Consul service. Create it with
// New, NewFromConfig or NewWithHealth; Stop it when done.
type Publisher struct {
	fan     publisher.Fanout
	health  HealthClient
	service string
	cfg     config
	// closeIdle releases the keep-alive connections of a client this
	// publisher built itself, so nothing of it outlives Stop.
	closeIdle func()

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu    sync.Mutex
	stats Stats
}

var _ publisher.Publisher = (*Publisher)(nil)

// Stats describes what a Publisher has done so far.
type Stats struct {
	// Queries counts completed health queries, successful or not.
	Queries uint64
	// Failures counts failed queries; ConsecutiveFailures is the current
	// run of them (0 once a query succeeds again).
	Failures            uint64
	ConsecutiveFailures int
	// Updates counts published instance sets that differed from the
	// previous one (or ended a failure).
	Updates uint64
	// Skipped counts malformed entries left out of results.
	Skipped uint64
	// Held counts empty results not published because they came within
	// the recovery grace after an outage (WithRecoveryGrace).
	Held uint64
	// IndexResets counts results whose index went backwards or was zero.
	IndexResets uint64
	// Index is the wait index of the next query (0: not blocking).
	Index uint64
	// LastError is the last query error, nil when the last query succeeded.
	LastError error
	// LastSuccess is when a query last succeeded.
	LastSuccess time.Time
}

// New returns a publisher of the instances of service, read through client
// (whose configuration carries the agent address, ACL token, TLS, and the
// default namespace and partition). The first query starts at once; the
// balancer sees the instances as soon as it returns. The caller keeps
// ownership of client.
func New(client *api.Client, service string, opts ...Option) (*Publisher, error) {
	if client == nil {
		return nil, invalid("nil *api.Client")
	}
	return NewWithHealth(client.Health(), service, opts...)
}

// NewFromConfig is New with a client built from cfg (which is copied, not
// modified). Stop releases the client's idle connections unless cfg brought
// its own HttpClient.
func NewFromConfig(cfg *api.Config, service string, opts ...Option) (*Publisher, error) {
	client, closeIdle, err := clientFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	p, err := NewWithHealth(client.Health(), service, opts...)
	if err != nil {
		return nil, err
	}
	p.closeIdle = closeIdle
	return p, nil
}

// clientFromConfig builds a client from a copy of cfg. closeIdle releases
// the idle connections of the HTTP client it made, or is nil when cfg
// brought its own HttpClient, which stays the caller's.
func clientFromConfig(cfg *api.Config) (client *api.Client, closeIdle func(), err error) {
	if cfg == nil {
		return nil, nil, invalid("nil *api.Config")
	}
	c := *cfg
	ownHTTP := c.HttpClient == nil
	if client, err = api.NewClient(&c); err != nil {
		// api.NewClient fails only on what cfg says (a bad address, TLS
		// files that cannot be read), so it is the caller's argument.
		return nil, nil, invalid("client config: %w", err)
	}
	if ownHTTP && c.HttpClient != nil {
		closeIdle = c.HttpClient.CloseIdleConnections
	}
	return client, closeIdle, nil
}

// NewWithHealth is New over any HealthClient, such as a wrapper of
// client.Health() that adds metrics.
func NewWithHealth(h HealthClient, service string, opts ...Option) (*Publisher, error) {
	if nilarg.IsNil(h) {
		return nil, invalid("nil HealthClient")
	}
	if service == "" {
		return nil, invalid("empty service name")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if nilarg.IsNil(o) {
			return nil, invalid("nil option")
		}
		if err := o.applyPublisher(&cfg); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Publisher{
		health:  h,
		service: service,
		cfg:     cfg,
		cancel:  cancel,
		done:    make(chan struct{}),
	}
	p.fan.SetLogger(cfg.logger)
	go p.run(ctx)
	return p, nil
}

// Subscribe implements publisher.Publisher.
func (p *Publisher) Subscribe() *publisher.Subscription { return p.fan.Subscribe() }

// SetMetrics records every later update into m (see publisher.Metrics).
func (p *Publisher) SetMetrics(m *publisher.Metrics) { p.fan.SetMetrics(m) }

// Stop implements publisher.Publisher: it cancels the query in flight, waits
// for the query goroutine to end and closes every subscription. It is
// idempotent.
func (p *Publisher) Stop() {
	p.once.Do(func() {
		p.cancel()
		<-p.done
		p.fan.Close()
		if p.closeIdle != nil {
			p.closeIdle()
		}
	})
}

// Stats returns a snapshot of the publisher's counters.
func (p *Publisher) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// run is the query loop: one blocking query at a time, for the publisher's
// whole life.
func (p *Publisher) run(ctx context.Context) {
	defer close(p.done)
	var (
		index    uint64
		last     []publisher.Instance // the last set published
		lastOK   bool                 // and no error was published since
		failures int
		// holdUntil is the end of the grace after an outage during which
		// an empty result does not replace a non-empty last set.
		holdUntil time.Time
		wait      = p.cfg.waitTime
		limit     = newBucket(p.cfg.queryEvery, p.cfg.queryBurst)
		clk       = p.cfg.clock
	)
	for {
		if err := clk.Sleep(ctx, limit.reserve(clk.Now())); err != nil {
			return
		}
		entries, meta, err := p.query(ctx, index, wait)
		if ctx.Err() != nil {
			return // Stop: the error is our own cancellation
		}
		if err == nil && meta == nil {
			err = errors.New("no query metadata")
		}
		if err != nil {
			failures++
			err = fmt.Errorf("%w: service %q: %w", ErrQuery, p.service, err)
			p.record(func(s *Stats) {
				s.Queries++
				s.Failures++
				s.ConsecutiveFailures = failures
				s.LastError = err
				s.Index = 0
			})
			level.Warn(p.cfg.logger).Log("msg", "consul query failed", "service", p.service, "failures", failures, "err", err)
			p.fan.Publish(publisher.Event{Err: err})
			lastOK = false
			// After an outage the agent may be a new one whose index
			// counts from scratch: waiting on the old index could block
			// on changes that already happened. Start again from 0.
			index = 0
			if clk.Sleep(ctx, p.cfg.backoff.Delay(failures)) != nil {
				return
			}
			continue
		}
		now := clk.Now()
		// After an outage, or an index lower than the one waited on (a
		// Consul that restarted between two queries), the state may be a
		// fresh one that the registrars have not filled yet.
		if (failures > 0 || meta.LastIndex < index) && p.cfg.recoveryGrace > 0 {
			holdUntil = now.Add(p.cfg.recoveryGrace)
		}
		failures = 0

		next, reset := nextIndex(index, meta.LastIndex)
		index = next
		instances, skipped := decode(entries, p.cfg.includeWarning)
		// Consul's order is not a promise; compare sets in address order.
		slices.SortFunc(instances, func(a, b publisher.Instance) int { return strings.Compare(a.Address, b.Address) })
		for _, s := range skipped {
			level.Warn(p.cfg.logger).Log("msg", "consul entry skipped", "service", p.service, "err", s)
		}

		// A Consul that has just come back may answer before its agents
		// have synced their services into it again (a restarted dev agent,
		// a rebuilt cluster): an empty answer then is not news that every
		// instance left. Until the grace ends, keep the last set and ask
		// again, waiting no longer than the grace.
		held := len(instances) == 0 && len(last) > 0 && now.Before(holdUntil)
		wait = p.cfg.waitTime
		if held {
			wait = min(wait, max(holdUntil.Sub(now), minWait))
		} else {
			holdUntil = time.Time{}
		}
		changed := !held && (!lastOK || !equalSets(last, instances))
		p.record(func(s *Stats) {
			s.Queries++
			s.ConsecutiveFailures = 0
			s.LastError = nil
			s.LastSuccess = now
			s.Skipped += uint64(len(skipped))
			s.Index = index
			if reset {
				s.IndexResets++
			}
			if changed {
				s.Updates++
			}
			if held {
				s.Held++
			}
		})
		if changed {
			p.fan.Publish(publisher.Event{Instances: instances})
			last, lastOK = instances, true
		}
	}
}

// minWait is the shortest wait a held query asks for: Consul reads an
// absent or zero wait as its 5-minute default.
const minWait = 50 * time.Millisecond

// query runs one health query, blocking on index for up to wait when index
// is not 0. The deadline covers the wait, Consul's jitter (up to wait/16)
// and a grace period, so a connection that died without a reset is
// abandoned.
func (p *Publisher) query(ctx context.Context, index uint64, wait time.Duration) ([]*api.ServiceEntry, *api.QueryMeta, error) {
	qctx, cancel := context.WithTimeout(ctx, wait+wait/16+QueryTimeoutGrace)
	defer cancel()
	q := &api.QueryOptions{
		Datacenter: p.cfg.datacenter,
		Namespace:  p.cfg.namespace,
		Partition:  p.cfg.partition,
		Filter:     p.cfg.filter,
		AllowStale: p.cfg.allowStale,
		WaitIndex:  index,
		WaitTime:   wait,
	}
	return p.health.ServiceMultipleTags(p.service, slices.Clone(p.cfg.tags), !p.cfg.includeWarning, q.WithContext(qctx))
}

// nextIndex applies Consul's rules for blocking-query indexes to the index
// a result came back with. An index lower than the one waited on (a
// restored snapshot, a new cluster) restarts the loop from 0, a fresh
// non-blocking read. A zero index is raised to 1: waiting on 0 does not
// block, and a loop that keeps getting 0 would spin.
func nextIndex(waited, got uint64) (next uint64, reset bool) {
	switch {
	case got < waited:
		return 0, true
	case got == 0:
		return 1, true
	default:
		return got, false
	}
}

func (p *Publisher) record(f func(*Stats)) {
	p.mu.Lock()
	f(&p.stats)
	p.mu.Unlock()
}

// equalSets reports whether a and b, both sorted by address, hold the same
// instances.
func equalSets(a, b []publisher.Instance) bool {
	return slices.EqualFunc(a, b, publisher.Instance.Equal)
}
