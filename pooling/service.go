package pooling

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// Service spreads connections over many hosts of one service, each with its
// own Pool (pooly's Service). GetConn picks a host with the service's
// strategy over the hosts' live statistics and borrows from its pool,
// trying other hosts when that fails; Conn.Release feeds the outcome back
// into the host's statistics, so that learning strategies steer away from
// hosts that fail.
//
// Hosts are added and removed at runtime. Each change rebuilds the
// strategy's picker once; GetConn reads the current set with one atomic
// load and takes no lock shared by all callers.
type Service[C any] struct {
	name   string
	driver Driver[C]
	cfg    config
	m      Metrics

	set atomic.Pointer[hostSet[C]]

	mu      sync.Mutex // serialises Add, Remove and Close
	closed  bool
	leaving map[*Pool[C]]struct{} // removed hosts' pools still closing
	wg      sync.WaitGroup        // their Close calls, and the metrics loop
	stop    chan struct{}
	done    chan struct{}
}

// host is one member of a service.
type host[C any] struct {
	addr  string
	pool  *Pool[C]
	stats *strategy.Stats
	score func(float64) float64
}

// hostSet is the immutable state GetConn reads.
type hostSet[C any] struct {
	hosts  []*host[C]
	stats  []*strategy.Stats
	picker strategy.Picker
	closed bool
}

// NewService returns a service with no hosts, named name, whose pools make
// connections with driver. Pool options apply to the pool of every host.
func NewService[C any](name string, driver Driver[C], opts ...Option) (*Service[C], error) {
	if name == "" {
		return nil, invalid("empty service name")
	}
	if err := checkDriver(driver); err != nil {
		return nil, err
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	s := &Service[C]{
		name:    name,
		driver:  driver,
		cfg:     cfg,
		leaving: make(map[*Pool[C]]struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if cfg.metrics != nil {
		s.m = *cfg.metrics
	}
	// The pools report per-connection events; GetConn reports its own.
	s.cfg.metrics = cfg.metrics.forPools()
	s.set.Store(&hostSet[C]{picker: cfg.strategy.NewPicker(nil)})
	if s.m.HostsScore != nil {
		s.wg.Add(1)
		go s.reportScores()
	}
	return s, nil
}

// Name returns the service's name.
func (s *Service[C]) Name() string { return s.name }

// Add adds the host at addr, with a new pool that starts prespawning. It
// returns an error wrapping ErrHostExists if addr is already a host, and
// ErrClosed after Close.
func (s *Service[C]) Add(addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	old := s.set.Load()
	for _, h := range old.hosts {
		if h.addr == addr {
			return fmt.Errorf("%w: %s", ErrHostExists, addr)
		}
	}
	p, err := newPool(addr, s.driver, s.cfg)
	if err != nil {
		return err
	}
	h := &host[C]{
		addr:  addr,
		pool:  p,
		stats: strategy.NewStats(addr, 1, strategy.WithWindow(s.cfg.window), strategy.WithClock(s.cfg.clock)),
		score: s.cfg.scoreFunc,
	}
	s.publish(append(slices.Clip(old.hosts), h))
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
	old := s.set.Load()
	i := slices.IndexFunc(old.hosts, func(h *host[C]) bool { return h.addr == addr })
	if i < 0 {
		return fmt.Errorf("%w: %s", ErrUnknownHost, addr)
	}
	p := old.hosts[i].pool
	s.publish(slices.Delete(slices.Clone(old.hosts), i, i+1))
	s.leaving[p] = struct{}{}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		p.Close()
		s.mu.Lock()
		delete(s.leaving, p)
		s.mu.Unlock()
	}()
	return nil
}

// publish makes hosts the current set. Called with s.mu held.
func (s *Service[C]) publish(hosts []*host[C]) {
	stats := make([]*strategy.Stats, len(hosts))
	for i, h := range hosts {
		stats[i] = h.stats
	}
	s.set.Store(&hostSet[C]{hosts: hosts, stats: stats, picker: s.cfg.strategy.NewPicker(stats)})
	if s.m.HostsCount != nil {
		s.m.HostsCount.Set(float64(len(hosts)))
	}
	if s.m.HostsScore != nil {
		s.m.HostsScore.Set(s.meanScore())
	}
}

// maxAvoided is how many failed hosts one GetConn remembers to avoid; more
// attempts than this may revisit a host.
const maxAvoided = 8

// GetConn borrows a connection from a host the strategy picks. If the
// host's pool fails (the host refuses connections, or its pool stays
// exhausted past the wait timeout), the failure is scored HostDown for that
// host and another host is tried, up to the get attempts
// (WithGetAttempts). It returns ErrNoHosts when there is no host, an error
// wrapping ErrNoHosts and the last host's error when every attempt failed,
// an error wrapping ctx's when ctx ends, and ErrClosed after Close.
func (s *Service[C]) GetConn(ctx context.Context) (Conn[C], error) {
	if s.m.ConnsGetCount == nil && s.m.ConnsGetDelay == nil && s.m.ConnsGetFails == nil {
		return s.getConn(ctx)
	}
	var start int64
	if s.m.ConnsGetDelay != nil {
		start = s.cfg.clock()
	}
	c, err := s.getConn(ctx)
	s.m.observeGet(s.cfg.clock, start, err)
	return c, err
}

func (s *Service[C]) getConn(ctx context.Context) (Conn[C], error) {
	if ctx == nil {
		return Conn[C]{}, invalid("nil context")
	}
	var avoid [maxAvoided]*host[C]
	var lastErr error
	for attempt := range s.cfg.getAttempts {
		set := s.set.Load()
		if set.closed {
			return Conn[C]{}, ErrClosed
		}
		h := set.pick(avoid[:min(attempt, maxAvoided)])
		if h == nil {
			break
		}
		start := h.stats.Begin()
		c, err := h.pool.Get(ctx)
		if err == nil {
			c.h, c.start = h, start
			return c, nil
		}
		switch {
		case ctx.Err() != nil:
			// The caller's own deadline or cancellation: stop, and
			// hold a cancellation against no one.
			if errors.Is(ctx.Err(), context.Canceled) {
				h.stats.Abandon(start)
			} else {
				h.stats.Done(start, true, HostDown)
			}
			return Conn[C]{}, err
		case errors.Is(err, ErrClosed):
			h.stats.Abandon(start) // removed meanwhile
		default:
			h.stats.Done(start, true, HostDown)
		}
		lastErr = err
		if attempt < maxAvoided {
			avoid[attempt] = h
		}
	}
	if lastErr == nil {
		return Conn[C]{}, ErrNoHosts
	}
	return Conn[C]{}, fmt.Errorf("%w: %w", ErrNoHosts, lastErr)
}

// pick returns the strategy's choice, or another host if that one is in
// avoid and some host is not, or nil when there is no host.
func (set *hostSet[C]) pick(avoid []*host[C]) *host[C] {
	i := set.picker.Pick()
	if i < 0 {
		return nil
	}
	h := set.hosts[i]
	if len(avoid) == 0 || !slices.Contains(avoid, h) {
		return h
	}
	for range 3 {
		if o := set.hosts[set.picker.Pick()]; !slices.Contains(avoid, o) {
			return o
		}
	}
	off := rand.IntN(len(set.hosts))
	for k := range set.hosts {
		if o := set.hosts[(off+k)%len(set.hosts)]; !slices.Contains(avoid, o) {
			return o
		}
	}
	return h
}

// record feeds one released connection's outcome into the host's
// statistics.
func (h *host[C]) record(start strategy.Start, err error, fatal bool, score float64) {
	if err != nil && cancelled(err) {
		h.stats.Abandon(start)
		return
	}
	if h.score != nil {
		score = h.score(score)
	}
	if fatal {
		score = HostDown
	}
	h.stats.Done(start, err != nil, score)
}

// reportScores refreshes the hosts.score gauge until Close.
func (s *Service[C]) reportScores() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.metricsInterval)
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
	set := s.set.Load()
	if len(set.stats) == 0 {
		return 0
	}
	var sum float64
	for _, st := range set.stats {
		sum += st.Score()
	}
	return 100 * sum / float64(len(set.stats))
}

// ServiceStatus is a point-in-time view of a Service.
type ServiceStatus struct {
	// Name is the service's name, Strategy its strategy's.
	Name, Strategy string
	// Hosts lists the hosts in the order they were added.
	Hosts []HostStatus
	// Closed reports whether Close has been called.
	Closed bool
}

// HostStatus is one host's statistics and pool counts.
type HostStatus struct {
	Address string
	// Score is the host's decayed mean score in [0,1].
	Score float64
	// Latency is the decayed mean time from GetConn to Release.
	Latency time.Duration
	// InFlight is the number of connections borrowed from it, and of
	// GetConn calls under way on it.
	InFlight int64
	// Requests counts released connections and failed gets; Failures
	// those that carried an error.
	Requests, Failures uint64
	// Pool is the host's pool counts.
	Pool Stats
}

// Status returns every host with its statistics (pooly's Status gave the
// connection counts). It allocates; call it from status pages and tests.
func (s *Service[C]) Status() ServiceStatus {
	set := s.set.Load()
	out := ServiceStatus{
		Name:     s.name,
		Strategy: s.cfg.strategy.Name(),
		Hosts:    make([]HostStatus, len(set.hosts)),
		Closed:   set.closed,
	}
	for i, h := range set.hosts {
		out.Hosts[i] = HostStatus{
			Address:  h.addr,
			Score:    h.stats.Score(),
			Latency:  h.stats.Latency(),
			InFlight: h.stats.InFlight(),
			Requests: h.stats.Requests(),
			Failures: h.stats.Failures(),
			Pool:     h.pool.Stats(),
		}
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
	hosts := s.set.Load().hosts
	s.set.Store(&hostSet[C]{picker: s.cfg.strategy.NewPicker(nil), closed: true})
	for _, h := range hosts {
		s.leaving[h.pool] = struct{}{}
	}
	s.mu.Unlock()
	close(s.stop)

	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() { errs[i] = h.pool.Close() })
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
