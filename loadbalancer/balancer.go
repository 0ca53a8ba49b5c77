package loadbalancer

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// Factory turns an instance address into an endpoint and a closer that
// releases what the endpoint holds (connections, pools); the closer may be
// nil. It is go-kit's sd.Factory itself, so a go-kit client's factory moves
// over unchanged.
type Factory = sd.Factory

// ErrNoEndpoints is returned by Endpoint when there is no live instance. It
// is go-kit's lb.ErrNoEndpoints, so code that compares against either keeps
// working. When discovery is failing, the error returned wraps both
// ErrNoEndpoints and the discovery error (the first of the spell).
var ErrNoEndpoints = lb.ErrNoEndpoints

// ErrClosed is returned by Endpoint after Close. It wraps ErrNoEndpoints,
// and its Closed method reports true: that is how package retry
// (retry.ClosedError) tells a closed balancer, which ends a call at once,
// from an empty one, whose endpoints discovery may still deliver.
var ErrClosed error = closedError{}

// closedError is ErrClosed's type. It satisfies retry.ClosedError without
// importing retry: the method set is the contract.
type closedError struct{}

func (closedError) Error() string { return "loadbalancer: closed: " + ErrNoEndpoints.Error() }
func (closedError) Unwrap() error { return ErrNoEndpoints }

// Closed reports true: a closed balancer never has an endpoint again.
func (closedError) Closed() bool { return true }

// ErrEndpointPanicked is the error a call's outcome is recorded with when
// its endpoint panicked. The panic itself goes on up the caller's
// goroutine.
var ErrEndpointPanicked = errors.New("loadbalancer: endpoint panicked")

// Balancer picks one endpoint per request from the live instances of one
// service. It satisfies go-kit's lb.Balancer, and retry's optional
// EndpointAvoiding. Create it with New; Close it when done.
type Balancer struct {
	set      *strategy.HostSet[endpoint.Endpoint]
	cache    *cache
	view     atomic.Pointer[view]
	none     atomic.Uint64 // Endpoint calls that found no host
	reporter *reporter
	interval time.Duration
	sub      *publisher.Subscription
	source   string // the publisher, for Status
	done     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
	closeErr error
	watchers []HostWatcher
}

var _ lb.Balancer = (*Balancer)(nil)

// New returns a balancer over the instances p publishes, making an endpoint
// for each new instance with f and picking one per request with the
// strategy (WithStrategy; strategy.PeakEWMA{} by default). It subscribes to
// p at once and applies p's current state before returning, so a static
// publisher's instances are usable immediately. The balancer does not own
// p: Close leaves it running. A nil p or f, or a bad option, is an error
// wrapping ErrInvalidArgument.
func New(p publisher.Publisher, f Factory, opts ...Option) (*Balancer, error) {
	if nilarg.IsNil(p) {
		return nil, invalid("nil publisher")
	}
	if f == nil {
		return nil, invalid("nil factory")
	}
	cfg := config{strategy: strategy.PeakEWMA{}, logger: log.NewNopLogger()}
	for _, o := range opts {
		if o == nil {
			return nil, invalid("nil option")
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	set, err := strategy.NewHostSet[endpoint.Endpoint](cfg.strategy, cfg.hostOpts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	b := &Balancer{set: set, done: make(chan struct{}), source: sourceName(p), watchers: cfg.watchers}
	if cfg.metrics != nil {
		b.reporter, b.interval = newReporter(cfg.metrics), strategy.DefaultMetricsInterval
	}
	b.cache = &cache{
		factory:         f,
		set:             set,
		logger:          cfg.logger,
		middlewares:     cfg.middlewares,
		closing:         newCloseQueue(cfg.logger),
		onPublish:       b.published,
		invalidate:      cfg.invalidate,
		invalidateAfter: cfg.invalidateAfter,
		metrics:         cfg.metrics,
		byAddr:          make(map[string]*item),
	}
	b.cache.mu.Lock()
	b.cache.publish() // empty until the publisher's first event
	b.cache.mu.Unlock()
	b.sub = p.Subscribe()
	select {
	case ev, ok := <-b.sub.C():
		if ok {
			b.cache.update(ev)
		}
	default:
	}
	b.wg.Add(1)
	go b.run()
	return b, nil
}

// Retries of failed factory calls. Discovery may not publish again for a
// long time (a static publisher never does, a watch only on a change), so
// the balancer runs the factory again by itself for the instances whose
// call failed: after FactoryRetryMin, then doubling waits up to
// FactoryRetryMax, with jitter, until every one succeeds or leaves the set.
// A new discovery event retries them at once as well.
const (
	// FactoryRetryMin is the wait before the first retry of failed
	// factory calls.
	FactoryRetryMin = 250 * time.Millisecond
	// FactoryRetryMax bounds the doubling waits between retries.
	FactoryRetryMax = 30 * time.Second
)

var factoryRetry = backoff.Policy{Min: FactoryRetryMin, Max: FactoryRetryMax, Jitter: backoff.Equal}

func (b *Balancer) run() {
	defer b.wg.Done()
	var tick <-chan time.Time
	if b.reporter != nil {
		t := time.NewTicker(b.interval)
		defer t.Stop()
		tick = t.C
	}
	// retry is armed while some factory calls have failed.
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	retries := backoff.Counter{Policy: factoryRetry}
	rearm := func(failing bool) {
		if !failing {
			retries.Reset()
			retry.Stop()
			return
		}
		retry.Reset(retries.Next())
	}
	rearm(b.cache.failing())
	for {
		select {
		case <-tick:
			b.reporter.report(b.view.Load(), b.none.Load(), b.set.Groups())
		case ev, ok := <-b.sub.C():
			if !ok {
				return // the publisher stopped: keep the last known set
			}
			b.cache.update(ev)
			if failing := b.cache.failing(); !failing || retries.Tries() == 0 {
				rearm(failing)
			}
		case <-retry.C:
			rearm(b.cache.retryFailed())
		case <-b.done:
			return
		}
	}
}

// published is the cache's callback after each update, under its lock.
func (b *Balancer) published(v *view) {
	b.view.Store(v)
	tellWatchers(b.watchers, v.hosts)
	if b.reporter != nil {
		b.reporter.note(v)
	}
}

// Endpoint returns the endpoint of the instance the strategy picks, or an
// error wrapping ErrNoEndpoints when there is none. It implements
// lb.Balancer, takes no lock and allocates nothing.
func (b *Balancer) Endpoint() (endpoint.Endpoint, error) {
	m, err := b.set.Pick(nil)
	if err != nil {
		b.none.Add(1)
	}
	return m.Value, err
}

// EndpointAvoiding is Endpoint for a retry: it prefers an instance whose
// address is not in tried, and returns the chosen instance's address. The
// strategy picks first; if its choice was tried already, a few more picks
// are drawn, and then the live instances are scanned from a random point
// for one not tried. Only when every live instance was tried does it return
// a tried one. It allocates nothing. Package retry uses it.
func (b *Balancer) EndpointAvoiding(tried []string) (endpoint.Endpoint, string, error) {
	m, err := b.set.Pick(tried)
	if err != nil {
		b.none.Add(1)
		return nil, "", err
	}
	return m.Value, m.Host.Address(), nil
}

// Close stops following the publisher and closes every endpoint. Endpoint
// returns ErrClosed afterwards. Close waits for the closers of endpoints
// removed earlier as well, and returns the joined errors of the closers it
// ran. It is idempotent: later calls return the first call's result.
func (b *Balancer) Close() error {
	b.once.Do(func() {
		close(b.done)
		b.wg.Wait()
		b.sub.Cancel()
		if b.reporter != nil {
			// The last report shows the set as it was in service.
			b.reporter.report(b.view.Load(), b.none.Load(), b.set.Groups())
		}
		b.cache.closing.collect()
		b.cache.close()
		b.closeErr = b.cache.closing.shutdown()
	})
	return b.closeErr
}
