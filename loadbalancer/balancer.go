package loadbalancer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd/lb"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/endpointcache"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// ErrNoEndpoints is returned by Endpoint when there is no live instance. It
// is go-kit's lb.ErrNoEndpoints, so code that compares against either keeps
// working. When discovery is failing, the error returned wraps both
// ErrNoEndpoints and the discovery error.
var ErrNoEndpoints = lb.ErrNoEndpoints

// ErrClosed is returned by Endpoint after Close. It wraps ErrNoEndpoints.
var ErrClosed = fmt.Errorf("loadbalancer: closed: %w", ErrNoEndpoints)

// ErrNilStrategy is returned by New for a nil Strategy.
var ErrNilStrategy = errors.New("loadbalancer: nil strategy")

// Scorer maps one call's outcome to a score in [0,1] for the chosen host's
// statistics, and says whether the call counts as a failure. It is not called
// for calls the caller cancelled.
type Scorer func(err error, latency time.Duration) (score float64, failed bool)

// ErrorScorer is the default Scorer: success scores 1, any error 0.
func ErrorScorer(err error, _ time.Duration) (float64, bool) {
	if err != nil {
		return 0, true
	}
	return 1, false
}

// Option configures a Balancer.
type Option func(*config) error

type config struct {
	logger      log.Logger
	scorer      Scorer
	cacheOpts   []endpointcache.Option
	middlewares []endpointcache.Middleware

	metrics         *Metrics
	metricsInterval time.Duration
	statsOpts       []strategy.StatsOption
}

// WithLogger sets the logger for discovery and factory problems.
func WithLogger(l log.Logger) Option {
	return func(c *config) error {
		if l != nil {
			c.logger = l
		}
		return nil
	}
}

// WithScorer replaces ErrorScorer.
func WithScorer(s Scorer) Option {
	return func(c *config) error {
		if s == nil {
			return errors.New("loadbalancer: nil scorer")
		}
		c.scorer = s
		return nil
	}
}

// InvalidateOnError drops every endpoint once discovery has been failing for
// timeout (see endpointcache.InvalidateOnError). By default the last known
// endpoints are kept while discovery fails.
func InvalidateOnError(timeout time.Duration) Option {
	return func(c *config) error {
		c.cacheOpts = append(c.cacheOpts, endpointcache.InvalidateOnError(timeout))
		return nil
	}
}

// WithEndpointMiddleware decorates each instance's endpoint with m, once,
// when the instance appears. Middlewares run inside the outcome recording (so
// what they do counts in the host's latency and score) in the order given:
// the first is outermost.
func WithEndpointMiddleware(m endpointcache.Middleware) Option {
	return func(c *config) error {
		if m == nil {
			return errors.New("loadbalancer: nil endpoint middleware")
		}
		c.middlewares = append(c.middlewares, m)
		return nil
	}
}

// WithStatsOptions sets the options of each host's statistics (decay
// window, clock).
func WithStatsOptions(opts ...strategy.StatsOption) Option {
	return func(c *config) error {
		c.cacheOpts = append(c.cacheOpts, endpointcache.WithStatsOptions(opts...))
		c.statsOpts = append(c.statsOpts, opts...)
		return nil
	}
}

// Balancer picks one endpoint per request from the live instances of one
// service. It satisfies go-kit's lb.Balancer. Create it with New, NewRandom
// or NewRoundRobin; Close it when done.
type Balancer struct {
	state       atomic.Pointer[state]
	cache       *endpointcache.Cache
	strategy    strategy.Strategy
	scorer      Scorer
	middlewares []endpointcache.Middleware
	reporter    *reporter
	interval    time.Duration
	monotonic   bool          // every host's Stats reads strategy.MonotonicClock
	none        atomic.Uint64 // Endpoint calls that found no host
	sub         *publisher.Subscription
	done        chan struct{}
	wg          sync.WaitGroup
	once        sync.Once
}

var _ lb.Balancer = (*Balancer)(nil)

// state is what a request reads: one immutable value per cache snapshot.
type state struct {
	eps    []endpoint.Endpoint // eps[i] is snap.Entries[i].Endpoint, one load closer
	recs   []*recorder         // recs[i] records the calls through eps[i]
	picker strategy.Picker
	snap   *endpointcache.Snapshot
	none   error // what Endpoint returns when there is nothing to pick
}

// New returns a balancer over the instances p publishes, making endpoints
// with f and picking them with s. It subscribes to p at once and applies p's
// current state before returning, so a static publisher's instances are
// usable immediately. The balancer does not own p: Close leaves it running.
func New(p publisher.Publisher, f endpointcache.Factory, s strategy.Strategy, opts ...Option) (*Balancer, error) {
	if p == nil {
		return nil, publisher.ErrNilPublisher
	}
	if f == nil {
		return nil, endpointcache.ErrNilFactory
	}
	if s == nil {
		return nil, ErrNilStrategy
	}
	cfg := config{logger: log.NewNopLogger(), scorer: ErrorScorer}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	b := &Balancer{strategy: s, scorer: cfg.scorer, middlewares: cfg.middlewares, done: make(chan struct{})}
	b.monotonic = strategy.NewStats("", 1, cfg.statsOpts...).MonotonicClockUsed()
	if cfg.metrics != nil {
		b.reporter, b.interval = &reporter{m: cfg.metrics}, cfg.metricsInterval
	}
	b.state.Store(&state{snap: &endpointcache.Snapshot{}, picker: s.NewPicker(nil), none: ErrNoEndpoints})
	cacheOpts := append([]endpointcache.Option{
		endpointcache.WithLogger(cfg.logger),
		endpointcache.WithDecorator(b.record),
		endpointcache.OnUpdate(b.rebuild),
	}, cfg.cacheOpts...)
	cache, err := endpointcache.New(f, cacheOpts...)
	if err != nil {
		return nil, err
	}
	b.cache = cache
	b.sub = p.Subscribe()
	select {
	case ev, ok := <-b.sub.C():
		if ok {
			cache.Update(ev)
		}
	default:
	}
	b.wg.Add(1)
	go b.run()
	return b, nil
}

// NewRandom returns a balancer that picks a live instance uniformly at random.
func NewRandom(p publisher.Publisher, f endpointcache.Factory, opts ...Option) (*Balancer, error) {
	return New(p, f, strategy.Random(), opts...)
}

// NewRoundRobin returns a balancer that picks live instances in turn.
func NewRoundRobin(p publisher.Publisher, f endpointcache.Factory, opts ...Option) (*Balancer, error) {
	return New(p, f, strategy.RoundRobin(), opts...)
}

func (b *Balancer) run() {
	defer b.wg.Done()
	var tick <-chan time.Time
	if b.reporter != nil {
		t := time.NewTicker(b.interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			b.reporter.report(b.state.Load().snap, b.none.Load())
		case ev, ok := <-b.sub.C():
			if !ok {
				return // the publisher stopped: keep the last known set
			}
			b.cache.Update(ev)
		case <-b.done:
			return
		}
	}
}

// rebuild makes the state for a new snapshot. The cache calls it under its
// update lock, so states are built in snapshot order.
func (b *Balancer) rebuild(snap *endpointcache.Snapshot) {
	st := &state{
		eps:    make([]endpoint.Endpoint, len(snap.Entries)),
		recs:   make([]*recorder, len(snap.Entries)),
		picker: b.strategy.NewPicker(snap.Hosts),
		snap:   snap,
		none:   ErrNoEndpoints,
	}
	for i, e := range snap.Entries {
		st.eps[i] = e.Endpoint
		st.recs[i] = e.Value.(*recorder)
	}
	switch {
	case errors.Is(snap.Err, endpointcache.ErrClosed):
		st.none = ErrClosed
	case snap.Err != nil:
		st.none = fmt.Errorf("%w: discovery: %w", ErrNoEndpoints, snap.Err)
	}
	b.state.Store(st)
	if b.reporter != nil {
		b.reporter.note(snap)
	}
}

// Endpoint returns the endpoint of the instance the strategy picks, or an
// error wrapping ErrNoEndpoints when there is none. It implements
// lb.Balancer, takes no lock and allocates nothing.
func (b *Balancer) Endpoint() (endpoint.Endpoint, error) {
	st := b.state.Load()
	// One unsigned comparison covers both "no host" (-1) and the bounds
	// check the index would otherwise cost.
	if i := st.picker.Pick(); uint(i) < uint(len(st.eps)) {
		return st.eps[i], nil
	}
	b.none.Add(1)
	return nil, st.none
}

// EndpointAvoiding is Endpoint for a retry: it prefers an instance whose
// address is not in tried, and returns the chosen instance's address. The
// strategy picks first; if its choice was tried already, a few more picks
// are drawn, and then the live instances are scanned from a random point
// for one not tried. Only when every live instance was tried does it return
// a tried one. It allocates nothing.
func (b *Balancer) EndpointAvoiding(tried []string) (endpoint.Endpoint, string, error) {
	st, i, err := b.pickAvoiding(tried)
	if err != nil {
		return nil, "", err
	}
	return st.eps[i], st.snap.Entries[i].Instance.Address, nil
}

// TimedCaller is an endpoint that takes the time its call starts and returns
// the time it ended, both on strategy.MonotonicClock, so that a caller that
// reads the clock anyway (a retry loop timing its attempts) spares the
// balancer two clock reads per call. It records the call's outcome exactly
// as the endpoint does.
type TimedCaller = interface {
	CallAt(ctx context.Context, req any, start int64) (resp any, end int64, err error)
}

// TimedEndpointAvoiding is EndpointAvoiding returning a TimedCaller. Use it
// only when ClockEpoch reports true. It allocates nothing.
func (b *Balancer) TimedEndpointAvoiding(tried []string) (TimedCaller, string, error) {
	st, i, err := b.pickAvoiding(tried)
	if err != nil {
		return nil, "", err
	}
	return st.recs[i], st.snap.Entries[i].Instance.Address, nil
}

// ClockEpoch returns the epoch of the clock TimedCaller times are read on
// (strategy.Epoch), and whether every host's statistics use that clock: false
// when WithStatsOptions replaced it (strategy.WithClock).
func (b *Balancer) ClockEpoch() (time.Time, bool) { return strategy.Epoch(), b.monotonic }

// pickAvoiding is the choice behind EndpointAvoiding: the strategy's pick,
// steered away from tried hosts.
func (b *Balancer) pickAvoiding(tried []string) (*state, int, error) {
	st := b.state.Load()
	i := st.picker.Pick()
	if i < 0 {
		b.none.Add(1)
		return nil, 0, st.none
	}
	entries := st.snap.Entries
	if len(tried) > 0 && slices.Contains(tried, entries[i].Instance.Address) {
		i = avoid(st.picker, entries, tried, i)
	}
	return st, i, nil
}

func avoid(p strategy.Picker, entries []*endpointcache.Entry, tried []string, first int) int {
	for range 3 {
		if j := p.Pick(); !slices.Contains(tried, entries[j].Instance.Address) {
			return j
		}
	}
	off := rand.IntN(len(entries))
	for k := range entries {
		j := (off + k) % len(entries)
		if !slices.Contains(tried, entries[j].Instance.Address) {
			return j
		}
	}
	return first
}

// record is the cache decorator that wraps each new endpoint so that every
// call through it updates the instance's statistics. The recorder itself is
// kept in the entry for TimedEndpointAvoiding.
func (b *Balancer) record(in publisher.Instance, next endpoint.Endpoint, st *strategy.Stats) (endpoint.Endpoint, any) {
	for i := len(b.middlewares) - 1; i >= 0; i-- {
		next = b.middlewares[i](in, next, st)
	}
	r := &recorder{next: next, stats: st, scorer: b.scorer}
	return r.call, r
}

type recorder struct {
	next   endpoint.Endpoint
	stats  *strategy.Stats
	scorer Scorer
}

func (r *recorder) call(ctx context.Context, req any) (any, error) {
	resp, _, err := r.CallAt(ctx, req, r.stats.Now())
	return resp, err
}

// CallAt implements TimedCaller.
func (r *recorder) CallAt(ctx context.Context, req any, start int64) (any, int64, error) {
	begun := r.stats.BeginAt(start)
	resp, err := r.next(ctx, req)
	now := r.stats.Now()
	// Only an error that says "canceled" can be the caller giving up; asking
	// the context first would cost a clock read on every failed call.
	if err != nil && errors.Is(err, context.Canceled) && errors.Is(ctx.Err(), context.Canceled) {
		// The caller gave up; that says nothing about the host.
		r.stats.Abandon(begun)
		return resp, now, err
	}
	score, failed := r.scorer(err, time.Duration(now-start))
	r.stats.End(begun, now, failed, score)
	return resp, now, err
}

// Close stops following the publisher and closes every endpoint. Endpoint
// returns ErrClosed afterwards. Close is idempotent and returns the joined
// errors of the endpoint closers.
func (b *Balancer) Close() error {
	var err error
	b.once.Do(func() {
		close(b.done)
		b.wg.Wait()
		b.sub.Cancel()
		if b.reporter != nil {
			b.reporter.report(b.state.Load().snap, b.none.Load())
		}
		err = b.cache.Close()
	})
	return err
}
