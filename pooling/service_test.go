package pooling_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/kit/metrics"
	"github.com/go-kit/kit/metrics/generic"

	"github.com/seed41aebe0c/lbkit/pooling"
	"github.com/seed41aebe0c/lbkit/strategy"
)

func newService(tb testing.TB, addrs []string, opts ...pooling.ServiceOption) *pooling.Service[net.Conn] {
	tb.Helper()
	opts = append([]pooling.ServiceOption{pooling.WithCloseDeadline(5 * time.Second)}, opts...)
	s, err := pooling.NewService[net.Conn]("echo", tcpDriver(tb), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	for _, a := range addrs {
		if err := s.Add(a); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

func hostStatus(tb testing.TB, s *pooling.Service[net.Conn], addr string) pooling.HostStatus {
	tb.Helper()
	for _, h := range s.Status().Hosts {
		if h.Address == addr {
			return h
		}
	}
	tb.Fatalf("host %s not in the status", addr)
	return pooling.HostStatus{}
}

// use borrows a connection, pings over it and releases it with the outcome,
// as a client of the service would.
func use(s *pooling.Service[net.Conn]) (addr string, err error) {
	c, err := s.GetConn(bg())
	if err != nil {
		return "", err
	}
	defer func() { c.Release(err, strategy.HostUp) }()
	return c.Address(), ping(c.Value())
}

// borrowFrom borrows until it gets a connection to addr, releasing the
// others.
func borrowFrom(tb testing.TB, s *pooling.Service[net.Conn], addr string) pooling.Conn[net.Conn] {
	tb.Helper()
	for range 100 {
		c, err := s.GetConn(bg())
		if err != nil {
			tb.Fatal(err)
		}
		if c.Address() == addr {
			return c
		}
		c.Release(nil, strategy.HostUp)
	}
	tb.Fatalf("never got a connection to %s", addr)
	return pooling.Conn[net.Conn]{}
}

func TestServiceSpreadsOverHosts(t *testing.T) {
	a, b := startEcho(t), startEcho(t)
	s := newService(t, []string{a.addr, b.addr})
	seen := map[string]int{}
	for range 10 {
		addr, err := use(s)
		if err != nil {
			t.Fatal(err)
		}
		seen[addr]++
	}
	if seen[a.addr] != 5 || seen[b.addr] != 5 {
		t.Errorf("round robin gave %v, want 5 each", seen)
	}
	st := s.Status()
	if st.Name != "echo" || st.Strategy != "round-robin" || len(st.Hosts) != 2 || st.Closed {
		t.Errorf("status = %+v", st)
	}
	for _, h := range st.Hosts {
		if h.Requests != 5 || h.Failures != 0 || h.Score != 1 || h.InFlight != 0 || h.Pool.Gets != 5 {
			t.Errorf("host %+v", h)
		}
	}
}

func TestServiceDeadHostScoresDownAndReturns(t *testing.T) {
	a, b := startEcho(t), startEcho(t)
	s := newService(t, []string{a.addr, b.addr}, pooling.WithConnRetries(1, time.Millisecond))
	for range 4 {
		if _, err := use(s); err != nil {
			t.Fatal(err)
		}
	}

	// b dies while one of its connections is borrowed.
	c := borrowFrom(t, s, b.addr)
	b.Kill()
	err := ping(c.Value())
	if err == nil {
		t.Fatal("ping over a dead server succeeded")
	}
	if err := c.Release(err, strategy.HostUp); err != nil {
		t.Fatal(err)
	}
	hb := hostStatus(t, s, b.addr)
	if hb.Pool.ClosedFatal != 1 || hb.Score >= 1 || hb.Failures != 1 {
		t.Errorf("after a fatal release: %+v", hb)
	}

	// GetConn still succeeds, through a; b's failures keep scoring it
	// down. (An idle connection to b whose end of stream has not reached
	// us yet may still be lent once, and fail: only b may fail.)
	for range 20 {
		addr, err := use(s)
		if err != nil && addr != b.addr {
			t.Fatalf("use through %q failed: %v", addr, err)
		}
		if err == nil && addr != a.addr {
			t.Fatalf("used %s, which is down", addr)
		}
	}
	down := hostStatus(t, s, b.addr)
	if down.Score >= hb.Score || down.Failures <= hb.Failures {
		t.Errorf("b's score did not fall further: before %+v, after %+v", hb, down)
	}
	if down.Pool.DialFailures == 0 {
		t.Errorf("no dial failed against the dead host: %+v", down.Pool)
	}

	// b comes back and is used again.
	b.Restart(t)
	eventually(t, "b to serve again", func() bool {
		addr, err := use(s)
		if err != nil {
			t.Fatal(err)
		}
		return addr == b.addr
	})
	if up := hostStatus(t, s, b.addr); up.Score <= down.Score {
		t.Errorf("b's score did not rise after it returned: %v -> %v", down.Score, up.Score)
	}
}

func TestServiceGivesUpAfterAttempts(t *testing.T) {
	dead := []string{deadAddr(t), deadAddr(t)}
	s := newService(t, dead, pooling.WithPrespawn(0), pooling.WithConnRetries(0, 0), pooling.WithGetAttempts(3))
	_, err := s.GetConn(bg())
	if !errors.Is(err, pooling.ErrNoHosts) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("GetConn over dead hosts = %v, want ErrNoHosts wrapping ECONNREFUSED", err)
	}
	var tries uint64
	for _, h := range s.Status().Hosts {
		if h.Score != 0 || h.InFlight != 0 {
			t.Errorf("dead host %+v", h)
		}
		tries += h.Requests
	}
	if tries != 3 {
		t.Errorf("%d attempts, want 3", tries)
	}
	// With two hosts, the second attempt avoids the one just failed.
	for _, h := range s.Status().Hosts {
		if h.Requests == 0 {
			t.Errorf("host %s never tried", h.Address)
		}
	}
}

// TestServiceHostScorerScoresFailedGets checks that the one score hook,
// strategy.WithScorer passed with WithHostOptions, scores a failed GetConn.
func TestServiceHostScorerScoresFailedGets(t *testing.T) {
	var calls atomic.Int64
	scorer := func(err error, _ time.Duration) (float64, bool) {
		calls.Add(1)
		if err != nil {
			return 0.25, true
		}
		return strategy.HostUp, false
	}
	s := newService(t, []string{deadAddr(t)}, pooling.WithPrespawn(0), pooling.WithConnRetries(0, 0),
		pooling.WithGetAttempts(1), pooling.WithHostOptions(strategy.WithScorer(scorer)))
	if _, err := s.GetConn(bg()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("GetConn from a dead host = %v", err)
	}
	h := s.Status().Hosts[0]
	if calls.Load() != 1 || h.Score != 0.25 || h.Failures != 1 || h.InFlight != 0 {
		t.Errorf("after a failed get scored by the host scorer (%d calls): %+v", calls.Load(), h)
	}
}

func TestServiceWithoutHosts(t *testing.T) {
	s := newService(t, nil)
	if _, err := s.GetConn(bg()); !errors.Is(err, pooling.ErrNoHosts) {
		t.Errorf("GetConn with no host = %v, want ErrNoHosts", err)
	}
	if _, err := s.GetConn(noContext); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("GetConn(nil) = %v, want ErrInvalidArgument", err)
	}
}

func TestServiceAddRemove(t *testing.T) {
	a, b := startEcho(t), startEcho(t)
	s := newService(t, []string{a.addr})
	if err := s.Add(a.addr); !errors.Is(err, pooling.ErrHostExists) {
		t.Errorf("duplicate Add = %v, want ErrHostExists", err)
	}
	if err := s.Add(""); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("Add(\"\") = %v, want ErrInvalidArgument", err)
	}
	if err := s.Remove(b.addr); !errors.Is(err, pooling.ErrUnknownHost) {
		t.Errorf("Remove of an unknown host = %v, want ErrUnknownHost", err)
	}
	if err := s.Add(b.addr); err != nil {
		t.Fatal(err)
	}
	held := borrowFrom(t, s, a.addr)
	if err := s.Remove(a.addr); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		addr, err := use(s)
		if err != nil {
			t.Fatal(err)
		}
		if addr != b.addr {
			t.Fatalf("used %s after removing it", addr)
		}
	}
	// A connection borrowed before the removal still works, and is closed
	// when released.
	if err := ping(held.Value()); err != nil {
		t.Fatal(err)
	}
	if err := held.Release(nil, strategy.HostUp); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a's connections to close", func() bool { return a.Open() == 0 })
	if got := s.Status().Hosts; len(got) != 1 || got[0].Address != b.addr {
		t.Errorf("hosts after Remove = %+v", got)
	}
	// Added again, a gets a fresh pool.
	if err := s.Add(a.addr); err != nil {
		t.Fatal(err)
	}
	if h := hostStatus(t, s, a.addr); h.Requests != 0 || h.Pool.Closed {
		t.Errorf("re-added host %+v", h)
	}
}

// lastHost is a strategy that always picks the last host.
type lastHost struct{}

func (lastHost) NewPicker(hosts []*strategy.Host) strategy.Picker { return lastPicker(len(hosts) - 1) }
func (lastHost) Name() string                                     { return "last" }

type lastPicker int

func (p lastPicker) Pick() int { return int(p) }

func TestServiceStrategyChoosesHost(t *testing.T) {
	a, b := startEcho(t), startEcho(t)
	s := newService(t, []string{a.addr}, pooling.WithStrategy(lastHost{}))
	if addr, err := use(s); err != nil || addr != a.addr {
		t.Fatalf("use = %s, %v", addr, err)
	}
	if err := s.Add(b.addr); err != nil {
		t.Fatal(err)
	}
	// The picker was rebuilt with b as the last host.
	if addr, err := use(s); err != nil || addr != b.addr {
		t.Fatalf("use after Add = %s, %v", addr, err)
	}
	if s.Status().Strategy != "last" {
		t.Error("status does not name the strategy")
	}
}

func TestServiceReleaseScores(t *testing.T) {
	a := startEcho(t)
	clock := newClock()
	s := newService(t, []string{a.addr}, pooling.WithHostOptions(strategy.WithClock(clock.Now)))

	c, err := s.GetConn(bg())
	if err != nil {
		t.Fatal(err)
	}
	if h := hostStatus(t, s, a.addr); h.InFlight != 1 {
		t.Errorf("in flight while borrowed = %d, want 1", h.InFlight)
	}
	clock.Advance(40 * time.Millisecond)
	if err := c.Release(nil, 0.5); err != nil {
		t.Fatal(err)
	}
	h := hostStatus(t, s, a.addr)
	if h.Score != 0.5 || h.Latency != 40*time.Millisecond || h.InFlight != 0 || h.Requests != 1 {
		t.Errorf("after Release(nil, 0.5): %+v", h)
	}
	if err := c.Release(nil, 1); !errors.Is(err, pooling.ErrNotBorrowed) {
		t.Errorf("second Release = %v, want ErrNotBorrowed", err)
	}

	// The caller's cancellation is not the host's fault: a failure while
	// the context given to GetConn is cancelled records nothing.
	ctx, cancel := context.WithCancel(bg())
	c, err = s.GetConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := c.Release(ctx.Err(), strategy.HostDown); err != nil {
		t.Fatal(err)
	}
	if h := hostStatus(t, s, a.addr); h.Requests != 1 || h.InFlight != 0 || h.Score != 0.5 {
		t.Errorf("after a cancelled release: %+v", h)
	}
	// The context decides, not the error: a cancellation error while the
	// caller's context is alive came from elsewhere and counts.
	c, err = s.GetConn(bg())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Release(fmt.Errorf("upstream: %w", context.Canceled), strategy.HostDown); err != nil {
		t.Fatal(err)
	}
	if h := hostStatus(t, s, a.addr); h.Requests != 2 || h.Failures != 1 || h.Score >= 0.5 {
		t.Errorf("after a release with another's cancellation: %+v", h)
	}

	// A fatal error forces HostDown whatever the score given.
	c, err = s.GetConn(bg())
	if err != nil {
		t.Fatal(err)
	}
	before := hostStatus(t, s, a.addr)
	if err := c.Release(io.EOF, strategy.HostUp); err != nil {
		t.Fatal(err)
	}
	if h := hostStatus(t, s, a.addr); h.Requests != 3 || h.Failures != 2 || h.Score >= before.Score {
		t.Errorf("after a fatal release: %+v", h)
	}

	// Discard closes a healthy connection without blaming the host.
	c, err = s.GetConn(bg())
	if err != nil {
		t.Fatal(err)
	}
	before = hostStatus(t, s, a.addr)
	if err := c.Discard(nil, strategy.HostUp); err != nil {
		t.Fatal(err)
	}
	h = hostStatus(t, s, a.addr)
	if h.Pool.Open != before.Pool.Open-1 || h.Failures != before.Failures || h.Score <= before.Score {
		t.Errorf("Discard: before %+v, after %+v", before, h)
	}
	// An application error scores the host but keeps the connection.
	c, err = s.GetConn(bg())
	if err != nil {
		t.Fatal(err)
	}
	before = hostStatus(t, s, a.addr)
	if err := c.Release(errApp, strategy.HostDown); err != nil {
		t.Fatal(err)
	}
	h = hostStatus(t, s, a.addr)
	if h.Pool.ClosedFatal != before.Pool.ClosedFatal || h.Pool.Idle != before.Pool.Idle+1 || h.Failures != before.Failures+1 {
		t.Errorf("application error: before %+v, after %+v", before, h)
	}
}

func TestServiceCancelledGetIsNotHeldAgainstHost(t *testing.T) {
	a := startEcho(t)
	s := newService(t, []string{a.addr}, pooling.WithMaxConns(1), pooling.WithPrespawn(0))
	held, err := s.GetConn(bg())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg())
	got := make(chan error)
	go func() {
		_, err := s.GetConn(ctx)
		got <- err
	}()
	eventually(t, "a waiting GetConn", func() bool { return hostStatus(t, s, a.addr).Pool.Waiting == 1 })
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Errorf("GetConn = %v, want context.Canceled", err)
	}
	if h := hostStatus(t, s, a.addr); h.Requests != 0 || h.InFlight != 1 || h.Score != 1 {
		t.Errorf("a cancelled GetConn counted against the host: %+v", h)
	}
	held.Release(nil, strategy.HostUp)
}

func TestServiceClose(t *testing.T) {
	a := startEcho(t)
	s := newService(t, []string{a.addr}, pooling.WithCloseDeadline(time.Hour))
	held, err := s.GetConn(bg())
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	eventually(t, "ForceClose to interrupt Close", s.ForceClose)
	if err := <-closed; !errors.Is(err, pooling.ErrStillBorrowed) {
		t.Errorf("forced Close = %v, want ErrStillBorrowed", err)
	}
	if _, err := s.GetConn(bg()); !errors.Is(err, pooling.ErrClosed) {
		t.Errorf("GetConn after Close = %v, want ErrClosed", err)
	}
	if err := s.Add(a.addr); !errors.Is(err, pooling.ErrClosed) {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
	if err := s.Remove(a.addr); !errors.Is(err, pooling.ErrClosed) {
		t.Errorf("Remove after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if !s.Status().Closed {
		t.Error("status does not say closed")
	}
	if err := held.Release(nil, strategy.HostUp); err != nil {
		t.Fatal(err)
	}
	eventually(t, "no server connection", func() bool { return a.Open() == 0 })
}

func TestServiceBadInput(t *testing.T) {
	d := tcpDriver(t)
	if _, err := pooling.NewService[net.Conn]("", d); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("empty name: %v", err)
	}
	if _, err := pooling.NewService[net.Conn]("x", nil); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("nil driver: %v", err)
	}
	if _, err := pooling.NewService[net.Conn]("x", (*pooling.NetDriver)(nil)); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("typed nil driver: %v", err)
	}
	bad := map[string]pooling.ServiceOption{
		"attempts":         pooling.WithGetAttempts(0),
		"nil strategy":     pooling.WithStrategy(nil),
		"typed nil":        pooling.WithStrategy((*strategy.PeakEWMA)(nil)),
		"invalid strategy": pooling.WithStrategy(strategy.EpsilonGreedy{Epsilon: 2}),
		"interval":         pooling.WithMetricsInterval(0),
		"host option":      pooling.WithHostOptions(strategy.WithWindow(0)),
		"nil host option":  pooling.WithHostOptions(nil),
		"nil pool option":  pooling.PoolOption(nil),
		"nil option":       nil,
	}
	for name, o := range bad {
		if _, err := pooling.NewService[net.Conn]("x", d, o); !errors.Is(err, pooling.ErrInvalidArgument) {
			t.Errorf("%s: NewService = %v, want ErrInvalidArgument", name, err)
		}
	}
	_, err := pooling.NewService[net.Conn]("x", d, pooling.WithHostOptions(strategy.WithWindow(-1)))
	if !errors.Is(err, strategy.ErrInvalidArgument) {
		t.Errorf("bad host option = %v, want it to wrap strategy.ErrInvalidArgument too", err)
	}
}

// TestServiceOptionsDoNotFitPools checks the rule that makes an option
// meant for a Service a compile error for NewPool and Factory: the
// service-only options are not PoolOptions, while every PoolOption is a
// ServiceOption.
func TestServiceOptionsDoNotFitPools(t *testing.T) {
	poolOption := reflect.TypeFor[pooling.PoolOption]()
	for name, o := range map[string]pooling.ServiceOption{
		"WithStrategy":        pooling.WithStrategy(strategy.RoundRobin{}),
		"WithGetAttempts":     pooling.WithGetAttempts(1),
		"WithHostOptions":     pooling.WithHostOptions(),
		"WithMetricsInterval": pooling.WithMetricsInterval(time.Second),
	} {
		if reflect.TypeOf(o).AssignableTo(poolOption) {
			t.Errorf("%s is a PoolOption", name)
		}
	}
	var _ pooling.ServiceOption = pooling.WithMaxConns(1)
}

func TestServiceMetrics(t *testing.T) {
	a, b := startEcho(t), startEcho(t)
	m := &pooling.Metrics{
		HostsScore:        aggGauge{generic.NewGauge(pooling.MetricHostsScore)},
		HostsCount:        aggGauge{generic.NewGauge(pooling.MetricHostsCount)},
		ConnsCount:        aggGauge{generic.NewGauge(pooling.MetricConnsCount)},
		ConnsFails:        aggCounter{generic.NewCounter(pooling.MetricConnsFails)},
		ConnsPutCount:     aggCounter{generic.NewCounter(pooling.MetricConnsPutCount)},
		ConnsGetCount:     aggCounter{generic.NewCounter(pooling.MetricConnsGetCount)},
		ConnsGetDelay:     aggHistogram{generic.NewHistogram(pooling.MetricConnsGetDelay, 10)},
		ConnsGetFails:     aggCounter{generic.NewCounter(pooling.MetricConnsGetFails)},
		ConnsActivePeriod: aggHistogram{generic.NewHistogram(pooling.MetricConnsActivePeriod, 10)},
	}
	s := newService(t, []string{a.addr, b.addr}, pooling.WithMetrics(m), pooling.WithPrespawn(0),
		pooling.WithMetricsInterval(5*time.Millisecond), pooling.WithConnRetries(0, 0))
	for range 6 {
		if _, err := use(s); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.HostsCount.(aggGauge).Value(); got != 2 {
		t.Errorf("hosts.count = %v, want 2", got)
	}
	if got := m.ConnsCount.(aggGauge).Value(); got != 2 {
		t.Errorf("conns.count = %v, want 2", got)
	}
	if got := m.ConnsGetCount.(aggCounter).Value(); got != 6 {
		t.Errorf("conns.get.count = %v, want 6", got)
	}
	if got := m.ConnsPutCount.(aggCounter).Value(); got != 6 {
		t.Errorf("conns.put.count = %v, want 6", got)
	}
	eventually(t, "hosts.score at 100%", func() bool { return m.HostsScore.(aggGauge).Value() == 100 })

	// b dies: one fatal release, then a failed dial before GetConn moves
	// on to a (counted as one get).
	c := borrowFrom(t, s, b.addr)
	b.Kill()
	c.Release(ping(c.Value()), strategy.HostUp)
	getsBefore := m.ConnsGetCount.(aggCounter).Value()
	for range 2 {
		if _, err := use(s); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.ConnsGetCount.(aggCounter).Value() - getsBefore; got != 2 {
		t.Errorf("conns.get.count grew by %v over two GetConns, want 2", got)
	}
	if got := m.ConnsFails.(aggCounter).Value(); got < 2 {
		t.Errorf("conns.fails = %v, want the fatal release and the failed dial", got)
	}
	eventually(t, "hosts.score to fall", func() bool { return m.HostsScore.(aggGauge).Value() < 100 })
	if got := m.ConnsCount.(aggGauge).Value(); got != 1 {
		t.Errorf("conns.count = %v, want 1 (b's closed)", got)
	}
	if q := m.ConnsGetDelay.(aggHistogram).Quantile(0.99); q <= 0 {
		t.Errorf("conns.get.delay p99 = %v, want > 0", q)
	}
	if q := m.ConnsActivePeriod.(aggHistogram).Quantile(0.99); q <= 0 {
		t.Errorf("conns.active.period p99 = %v, want > 0", q)
	}

	if err := s.Remove(b.addr); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(a.addr); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetConn(bg()); !errors.Is(err, pooling.ErrNoHosts) {
		t.Fatal(err)
	}
	if got := m.ConnsGetFails.(aggCounter).Value(); got != 1 {
		t.Errorf("conns.get.fails = %v, want 1", got)
	}
	if got := m.HostsCount.(aggGauge).Value(); got != 0 {
		t.Errorf("hosts.count = %v, want 0", got)
	}
	s.Close()
	if got := m.ConnsCount.(aggGauge).Value(); got != 0 {
		t.Errorf("conns.count after Close = %v, want 0", got)
	}
}

// aggCounter, aggGauge and aggHistogram record every label's values into
// one generic metric, as a backend without labels (statsd) does: the pools
// bind theirs to their host.
type aggCounter struct{ *generic.Counter }

func (a aggCounter) With(...string) metrics.Counter { return a }

type aggGauge struct{ *generic.Gauge }

func (a aggGauge) With(...string) metrics.Gauge { return a }

type aggHistogram struct{ *generic.Histogram }

func (a aggHistogram) With(...string) metrics.Histogram { return a }
