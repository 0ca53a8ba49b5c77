package pooling

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/seed41aebe0c/lbkit/internal/instancehost"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// Service spreads connections over many hosts of one service, each with its
// own Pool (pooly's Service). GetConn picks a host with the service's
// strategy over the hosts' live statistics and borrows from its pool,
// trying other hosts when that fails; Conn.Release feeds the outcome back
// into the host's statistics, so that learning strategies steer away from
// hosts that fail.
//
// The hosts are a strategy.HostSet, lbkit's one host-set core, whose
// members carry the pools: Add and Remove publish a new member list and
// rebuild the strategy's picker once; GetConn picks with one atomic load and
// takes no lock shared by all callers.
type Service[C any] struct {
	name            string
	driver          Driver[C]
	pool            poolConfig
	getAttempts     int
	metricsInterval time.Duration
	m               Metrics
	set             *strategy.HostSet[*Pool[C]]

	mu      sync.Mutex // serialises Add, Remove and Close
	closed  bool
	leaving map[*Pool[C]]struct{} // removed hosts' pools still closing
	wg      sync.WaitGroup        // their Close calls, and the metrics loop
	stop    chan struct{}
	done    chan struct{}
}

// NewService returns a service with no hosts, named name, whose pools make
// connections with driver. Pool options apply to the pool of every host;
// the other service options set how hosts are picked and scored.
func NewService[C any](name string, driver Driver[C], opts ...ServiceOption) (*Service[C], error) {
	if name == "" {
		return nil, invalid("empty service name")
	}
	if err := checkDriver(driver); err != nil {
		return nil, err
	}
	cfg, err := newServiceConfig(opts)
	if err != nil {
		return nil, err
	}
	set, err := strategy.NewHostSet[*Pool[C]](cfg.strategy, cfg.hostOpts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	set.Update(nil, ErrNoHosts)
	s := &Service[C]{
		name:            name,
		driver:          driver,
		pool:            cfg.pool,
		getAttempts:     cfg.getAttempts,
		metricsInterval: cfg.metricsInterval,
		set:             set,
		leaving:         make(map[*Pool[C]]struct{}),
		stop:            make(chan struct{}),
		done:            make(chan struct{}),
	}
	if m := cfg.pool.metrics; m != nil {
		s.m = *m
	}
	// The pools report per-connection events; GetConn reports its own.
	s.pool.metrics = cfg.pool.metrics.forPools()
	if s.m.HostsScore != nil {
		s.wg.Go(s.reportScores)
	}
	return s, nil
}

// Name returns the service's name.
func (s *Service[C]) Name() string { return s.name }

// Add adds the host at addr, with a new pool that starts prespawning. It
// returns an error wrapping ErrHostExists if addr is already a host, and
// ErrClosed after Close. It is AddInstance of an instance with only an
// address: weight 1, priority 0, no zone.
func (s *Service[C]) Add(addr string) error {
	return s.AddInstance(publisher.Instance{Address: addr})
}

// AddInstance adds the host of a discovered instance as Add does its
// address, with the instance's weight (for weighted strategies), priority
// (failover tiers: lower is preferred, and a tier's traffic spills to the
// next as its hosts fail), zone (zone-aware routing, with
// strategy.WithLocalZone given to WithHostOptions) and metadata, as
// loadbalancer.New's hosts carry them. An instance that does not validate
// (an empty address, a negative weight) is an error wrapping
// ErrInvalidArgument.
func (s *Service[C]) AddInstance(in publisher.Instance) error {
	if err := in.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	addr := in.Address
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	old := s.set.Members()
	if s.index(old, addr) >= 0 {
		return fmt.Errorf("%w: %s", ErrHostExists, addr)
	}
	p, err := newPool(addr, s.driver, s.pool)
	if err != nil {
		return err
	}
	m := strategy.Member[*Pool[C]]{Host: instancehost.New(s.set, in), Value: p}
	s.publish(append(slices.Clip(old), m))
	return nil
}

// Remove takes the host at addr out of the service: GetConn stops picking
// it at once, and its pool is closed in the background (connections
// borrowed from it are closed when released). It returns an error wrapping
// ErrUnknownHost if addr is not a host, and ErrClosed after Close.
func (s *Service[C]) Remove(addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	old := s.set.Members()
	i := s.index(old, addr)
	if i < 0 {
		return fmt.Errorf("%w: %s", ErrUnknownHost, addr)
	}
	p := old[i].Value
	s.publish(slices.Delete(slices.Clone(old), i, i+1))
	s.leaving[p] = struct{}{}
	s.wg.Go(func() {
		p.Close()
		s.mu.Lock()
		delete(s.leaving, p)
		s.mu.Unlock()
	})
	return nil
}

func (s *Service[C]) index(members []strategy.Member[*Pool[C]], addr string) int {
	return slices.IndexFunc(members, func(m strategy.Member[*Pool[C]]) bool { return m.Host.Address() == addr })
}

// publish makes members the host set. Called with s.mu held.
func (s *Service[C]) publish(members []strategy.Member[*Pool[C]]) {
	s.set.Update(members, ErrNoHosts)
	if s.m.HostsCount != nil {
		s.m.HostsCount.Set(float64(len(members)))
	}
	if s.m.HostsScore != nil {
		s.m.HostsScore.Set(s.meanScore())
	}
}

// maxTried is how many failed hosts one GetConn remembers to avoid; more
// attempts than this may revisit a host.
const maxTried = 8

// GetConn borrows a connection from a host the strategy picks. If the
// host's pool fails (the host refuses connections, or its pool stays
// exhausted past the wait timeout), the failure is recorded against that
// host (strategy.Host.Record, which scores it with the host scorer and
// holds nothing against the host when ctx was cancelled) and another host
// is tried, up to the get attempts (WithGetAttempts). It returns ErrNoHosts
// when there is no host, an error wrapping ErrNoHosts and the last host's
// error when every attempt failed, an error wrapping ctx's when ctx ends,
// and ErrClosed after Close.
func (s *Service[C]) GetConn(ctx context.Context) (Conn[C], error) {
	if s.m.ConnsGetCount == nil && s.m.ConnsGetDelay == nil && s.m.ConnsGetFails == nil {
		return s.getConn(ctx)
	}
	var start int64
	if s.m.ConnsGetDelay != nil {
		start = now()
	}
	c, err := s.getConn(ctx)
	s.m.observeGet(start, false, err)
	return c, err
}

func (s *Service[C]) getConn(ctx context.Context) (Conn[C], error) {
	if ctx == nil {
		return Conn[C]{}, invalid("nil context")
	}
	var tried [maxTried]string
	n := 0
	var lastErr error
	for range s.getAttempts {
		m, err := s.set.Pick(tried[:n])
		if err != nil {
			if lastErr == nil || errors.Is(err, ErrClosed) {
				return Conn[C]{}, err
			}
			break
		}
		h := m.Host
		start := h.Begin()
		c, err := m.Value.Get(ctx)
		if err == nil {
			// The Conn is this goroutine's alone until it is given
			// back, and put reads the borrow once it has taken the entry back.
			c.e.borrow = borrow{host: h, start: start, ctx: ctx}
			return c, nil
		}
		if errors.Is(err, ErrClosed) {
			h.Abandon(start) // removed meanwhile: not the host's fault
			continue
		}
		h.Record(ctx, start, err)
		if ctx.Err() != nil {
			return Conn[C]{}, err
		}
		lastErr = err
		if n < maxTried {
			tried[n] = h.Address()
			n++
		}
	}
	if lastErr == nil {
		return Conn[C]{}, ErrNoHosts
	}
	return Conn[C]{}, fmt.Errorf("%w: %w", ErrNoHosts, lastErr)
}

// reportScores refreshes the hosts.score gauge until Close.
func (s *Service[C]) reportScores() {
	t := time.NewTicker(s.metricsInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.m.HostsScore.Set(s.meanScore())
		}
	}
}

// meanScore is the hosts' mean score in percent, 0 with no host.
func (s *Service[C]) meanScore() float64 {
	members := s.set.Members()
	if len(members) == 0 {
		return 0
	}
	var sum float64
	for _, m := range members {
		sum += m.Host.Stats().Score
	}
	return 100 * sum / float64(len(members))
}

// ServiceStatus is a point-in-time view of a Service.
type ServiceStatus struct {
	// Name is the service's name, Strategy its strategy's.
	Name, Strategy string
	// Hosts lists the hosts in the order they were added.
	Hosts []HostStatus
	// Closed reports whether Close has been called.
	Closed bool
	// Health counts the hosts ejected and ramping (WithHostOptions with
	// strategy.WithOutlierEjection or strategy.WithSlowStart).
	Health strategy.SetHealth
}

// HostStatus is one host of a Service: the host's statistics as every
// lbkit host set reports them (its score, mean latency from GetConn to
// Release, connections borrowed and GetConns under way as InFlight,
// releases and failed gets as Requests, those with an error as Failures),
// and its pool's counts.
type HostStatus struct {
	strategy.HostStats
	Pool Stats
}

// Status returns every host with its statistics (pooly's Status gave the
// connection counts). It allocates; call it from status pages and tests.
func (s *Service[C]) Status() ServiceStatus {
	members := s.set.Members()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	out := ServiceStatus{
		Name:     s.name,
		Strategy: s.set.Strategy().Name(),
		Hosts:    make([]HostStatus, len(members)),
		Closed:   closed,
		Health:   s.set.Health(),
	}
	for i, m := range members {
		out.Hosts[i] = HostStatus{HostStats: m.Host.Stats(), Pool: m.Value.Stats()}
	}
	return out
}

// Close closes every host's pool at once, each waiting for its borrowed
// connections up to the close deadline (see Pool.Close), and waits for the
// pools of removed hosts too. GetConn returns ErrClosed from now on. It
// returns the pools' errors joined. Close is idempotent: later calls wait
// for the first to finish and return nil.
func (s *Service[C]) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closed = true
	members := s.set.Members()
	s.set.Update(nil, ErrClosed)
	for _, m := range members {
		s.leaving[m.Value] = struct{}{}
	}
	s.mu.Unlock()
	close(s.stop)

	errs := make([]error, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Go(func() { errs[i] = m.Value.Close() })
	}
	wg.Wait()
	s.wg.Wait()
	if s.m.HostsCount != nil {
		s.m.HostsCount.Set(0)
	}
	close(s.done)
	return errors.Join(errs...)
}

// ForceClose ends the waits of every pool closing, whether because of Close
// or Remove. It reports whether it interrupted any.
func (s *Service[C]) ForceClose() bool {
	s.mu.Lock()
	pools := make([]*Pool[C], 0, len(s.leaving))
	for p := range s.leaving {
		pools = append(pools, p)
	}
	s.mu.Unlock()
	interrupted := false
	for _, p := range pools {
		if p.ForceClose() {
			interrupted = true
		}
	}
	return interrupted
}
