package dnssrv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log/level"

	"github.com/seed41aebe0c/lbkit/publisher"
)

// Errors published (wrapped) in events.
var (
	// ErrLookup wraps every failed lookup, together with the resolver's own
	// error (often a *net.DNSError, reachable with errors.As).
	ErrLookup = errors.New("dnssrv: SRV lookup failed")
	// ErrNoUsableRecords is published (wrapped in ErrLookup's error) when an
	// answer had records but none could be used.
	ErrNoUsableRecords = errors.New("dnssrv: no usable SRV records")
)

// Stats describes a publisher's lookups so far.
type Stats struct {
	// Lookups counts completed lookups, successful or not.
	Lookups uint64
	// Failures counts lookups that published an error.
	Failures uint64
	// SkippedRecords counts records left out of successful lookups.
	SkippedRecords uint64
	// Instances is the size of the last published set.
	Instances int
	// LastLookup is when the last lookup completed.
	LastLookup time.Time
	// LastErr is the error of the last lookup, nil if it succeeded.
	LastErr error
	// NextPoll is the wait before the next lookup, as last decided.
	NextPoll time.Duration
}

// Publisher polls one SRV name and publishes its instances. Create it with
// New; Stop it when done.
type Publisher struct {
	fan publisher.Fanout

	name     string
	interval time.Duration
	cfg      config
	ttl      TTLResolver // set when WithTTL is in force

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu    sync.Mutex
	stats Stats
}

var _ publisher.Publisher = (*Publisher)(nil)

// New returns a publisher of the SRV records of name (for example
// "_http._tcp.example.com"), looked up at once and then every interval.
// Its goroutine runs until Stop. A name that is not a DNS name (empty, an
// empty label as in "a..b", a label over 63 bytes, more than 253 bytes, a
// character other than a letter, digit, hyphen or underscore, as in a URL
// or host:port) is an error wrapping ErrInvalidArgument: it could never be
// found, and would be polled for ever.
func New(name string, interval time.Duration, opts ...Option) (*Publisher, error) {
	if reason := checkName(strings.TrimSuffix(name, ".")); reason != "" {
		return nil, invalid("SRV name %q: %s", name, reason)
	}
	if interval <= 0 {
		return nil, invalid("interval %v: must be positive", interval)
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, invalid("nil option")
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	p := &Publisher{name: name, interval: interval, cfg: cfg, done: make(chan struct{})}
	p.fan.SetLogger(cfg.logger)
	if cfg.honourTTL {
		tr, ok := cfg.resolver.(TTLResolver)
		if !ok {
			return nil, invalid("WithTTL needs a resolver that reports TTLs (a TTLResolver such as *Client), not %T", cfg.resolver)
		}
		p.ttl = tr
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	go p.run()
	return p, nil
}

// Stop ends the polling goroutine (cancelling a lookup under way), waits for
// it, and closes every subscription. It is idempotent.
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

// Stats returns the lookup statistics.
func (p *Publisher) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

func (p *Publisher) run() {
	defer close(p.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-timer.C:
		}
		timer.Reset(p.poll())
	}
}

// poll does one lookup, publishes its outcome and returns the wait before
// the next one.
func (p *Publisher) poll() time.Duration {
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.timeout)
	defer cancel()
	var (
		records []*net.SRV
		ttl     time.Duration
		err     error
	)
	if p.ttl != nil {
		records, ttl, err = p.ttl.LookupSRVTTL(ctx, "", "", p.name)
	} else {
		_, records, err = p.cfg.resolver.LookupSRV(ctx, "", "", p.name)
	}
	if p.ctx.Err() != nil {
		return p.interval // stopping: the result is of no interest
	}
	ins, skipped, err := p.interpret(records, err)
	next := p.interval
	if err == nil && p.ttl != nil {
		next = min(max(ttl, p.cfg.ttlFloor), p.interval)
	}
	p.mu.Lock()
	p.stats.Lookups++
	p.stats.LastLookup = time.Now()
	p.stats.LastErr = err
	p.stats.NextPoll = next
	if err != nil {
		p.stats.Failures++
	} else {
		p.stats.SkippedRecords += uint64(len(skipped))
		p.stats.Instances = len(ins)
	}
	p.mu.Unlock()
	if err != nil {
		level.Error(p.cfg.logger).Log("component", "dnssrv", "name", p.name, "err", err)
		p.fan.Publish(publisher.Event{Err: err})
		return next
	}
	p.fan.Publish(publisher.Event{Instances: ins, Invalid: publisher.NewInvalidError(skipped...)})
	return next
}

// interpret turns a resolver's answer into an instance set or an error.
func (p *Publisher) interpret(records []*net.SRV, lookupErr error) ([]publisher.Instance, []error, error) {
	if lookupErr != nil {
		var dnsErr *net.DNSError
		switch {
		case len(records) > 0:
			// The resolver dropped some records but kept others: use
			// those, as a partial answer is still the server's answer.
			level.Warn(p.cfg.logger).Log("component", "dnssrv", "name", p.name, "msg", "partial answer", "err", lookupErr)
		case p.cfg.notFoundAsNone && errors.As(lookupErr, &dnsErr) && dnsErr.IsNotFound:
			return nil, nil, nil
		default:
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrLookup, p.name, lookupErr)
		}
	}
	ins, skipped := Decode(records)
	if p.cfg.zoneLabel > 0 {
		for i := range ins {
			ins[i].Zone = ZoneOf(ins[i].Address, p.cfg.zoneLabel)
		}
	}
	for _, e := range skipped {
		level.Warn(p.cfg.logger).Log("component", "dnssrv", "name", p.name, "msg", "record skipped", "err", e)
	}
	if len(ins) == 0 && len(skipped) > 0 {
		return nil, skipped, fmt.Errorf("%w: %s: %w: %d skipped, first: %w", ErrLookup, p.name, ErrNoUsableRecords, len(skipped), skipped[0])
	}
	return ins, skipped, nil
}
