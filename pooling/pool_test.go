package pooling_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/kit/metrics"
	"github.com/go-kit/kit/metrics/generic"

	"github.com/seed41aebe0c/lbkit/pooling"
)

func tcpDriver(tb testing.TB, opts ...pooling.NetOption) *pooling.NetDriver {
	tb.Helper()
	d, err := pooling.NewNetDriver("tcp", opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func newPool(tb testing.TB, addr string, opts ...pooling.PoolOption) *pooling.Pool[net.Conn] {
	tb.Helper()
	// A failed test must not leave Cleanup's Close waiting for long.
	opts = append([]pooling.PoolOption{pooling.WithCloseDeadline(5 * time.Second)}, opts...)
	p, err := pooling.NewPool[net.Conn](addr, tcpDriver(tb), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

func get(tb testing.TB, p *pooling.Pool[net.Conn]) pooling.Conn[net.Conn] {
	tb.Helper()
	c, err := p.Get(bg())
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func put(tb testing.TB, p *pooling.Pool[net.Conn], c pooling.Conn[net.Conn], err error) {
	tb.Helper()
	if perr := p.Put(c, err); perr != nil {
		tb.Fatal(perr)
	}
}

func TestPoolReusesIdleConnection(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0))

	c := get(t, p)
	if err := ping(c.Value()); err != nil {
		t.Fatal(err)
	}
	if c.Address() != srv.addr {
		t.Errorf("Address = %q, want %q", c.Address(), srv.addr)
	}
	first := c.Value()
	put(t, p, c, nil)

	c = get(t, p)
	if c.Value() != first {
		t.Error("second Get dialled instead of reusing the idle connection")
	}
	if err := ping(c.Value()); err != nil {
		t.Fatal(err)
	}
	put(t, p, c, nil)

	st := p.Stats()
	if st.Dialled != 1 || st.Gets != 2 || st.Puts != 2 || st.Idle != 1 || st.InUse != 0 || st.Open != 1 {
		t.Errorf("stats = %+v", st)
	}
	if got := srv.accepted.Load(); got != 1 {
		t.Errorf("server accepted %d connections, want 1", got)
	}
}

func TestPoolPrespawnsInBackground(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(3))
	eventually(t, "3 idle connections", func() bool { return p.Stats().Idle == 3 })
	eventually(t, "3 server connections", func() bool { return srv.Open() == 3 })

	// New never goes past the maximum.
	if err := p.SetMaxConns(4); err != nil {
		t.Fatal(err)
	}
	if err := p.New(10); err != nil {
		t.Fatal(err)
	}
	eventually(t, "4 idle connections", func() bool { return p.Stats().Idle == 4 })
	if st := p.Stats(); st.Dialled != 4 {
		t.Errorf("dialled %d, want 4", st.Dialled)
	}
	if err := p.New(-1); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("New(-1) = %v, want ErrInvalidArgument", err)
	}
}

func TestPoolWaitTimeout(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithMaxConns(1),
		pooling.WithWaitTimeout(30*time.Millisecond))
	c := get(t, p)

	_, err := p.Get(bg())
	if !errors.Is(err, pooling.ErrTimeout) {
		t.Fatalf("Get on an exhausted pool = %v, want ErrTimeout", err)
	}
	st := p.Stats()
	if st.Waits != 1 || st.WaitTime <= 0 || st.GetFailures != 1 || st.Waiting != 0 {
		t.Errorf("stats = %+v", st)
	}

	put(t, p, c, nil)
	put(t, p, get(t, p), nil)
}

func TestPoolWaiterGetsReturnedConnection(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithMaxConns(1))
	c := get(t, p)

	got := make(chan pooling.Conn[net.Conn])
	go func() {
		w, err := p.Get(bg())
		if err != nil {
			t.Error(err)
		}
		got <- w
	}()
	eventually(t, "a waiting Get", func() bool { return p.Stats().Waiting == 1 })
	put(t, p, c, nil)
	w := <-got
	if w.Value() != c.Value() {
		t.Error("the waiter did not get the connection given back")
	}
	put(t, p, w, nil)
	if st := p.Stats(); st.Dialled != 1 || st.Waits != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestPoolWaiterDialsWhenSlotFrees(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithMaxConns(1))
	c := get(t, p)

	got := make(chan error)
	go func() {
		w, err := p.Get(bg())
		if err == nil {
			err = ping(w.Value())
			p.Put(w, err)
		}
		got <- err
	}()
	eventually(t, "a waiting Get", func() bool { return p.Stats().Waiting == 1 })
	put(t, p, c, io.EOF) // fatal: the slot passes to the waiter, who dials
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Dialled != 2 || st.ClosedFatal != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestPoolGetHonoursContext(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithMaxConns(1))
	c := get(t, p)

	ctx, cancel := context.WithCancel(bg())
	got := make(chan error)
	go func() {
		_, err := p.Get(ctx)
		got <- err
	}()
	eventually(t, "a waiting Get", func() bool { return p.Stats().Waiting == 1 })
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Errorf("Get = %v, want context.Canceled", err)
	}
	if _, err := p.Get(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a done context = %v, want context.Canceled", err)
	}
	short, cancel2 := context.WithTimeout(bg(), 20*time.Millisecond)
	defer cancel2()
	if _, err := p.Get(short); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, pooling.ErrTimeout) {
		t.Errorf("Get past the context deadline = %v, want context.DeadlineExceeded", err)
	}
	if st := p.Stats(); st.Waiting != 0 {
		t.Errorf("%d Gets still waiting", st.Waiting)
	}
	put(t, p, c, nil)
	if _, err := p.Get(noContext); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("Get(nil) = %v, want ErrInvalidArgument", err)
	}
}

func TestPoolPutFatalErrorClosesConnection(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0))

	c := get(t, p)
	put(t, p, c, errApp) // temporary: kept
	if st := p.Stats(); st.Idle != 1 || st.ClosedFatal != 0 {
		t.Fatalf("after a temporary error: %+v", p.Stats())
	}
	c = get(t, p)
	put(t, p, c, io.ErrUnexpectedEOF) // fatal: closed
	if st := p.Stats(); st.Idle != 0 || st.Open != 0 || st.ClosedFatal != 1 {
		t.Errorf("after a fatal error: %+v", st)
	}
	eventually(t, "the server to see the connection closed", func() bool { return srv.Open() == 0 })
}

func TestPoolRefusesBadGiveBacks(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0))
	other := newPool(t, srv.addr, pooling.WithPrespawn(0))

	if err := p.Put(pooling.Conn[net.Conn]{}, nil); !errors.Is(err, pooling.ErrNotBorrowed) {
		t.Errorf("Put(zero) = %v, want ErrNotBorrowed", err)
	}
	if err := (pooling.Conn[net.Conn]{}).Release(nil, 1); !errors.Is(err, pooling.ErrNotBorrowed) {
		t.Errorf("zero Release = %v, want ErrNotBorrowed", err)
	}
	c := get(t, p)
	if err := other.Put(c, nil); !errors.Is(err, pooling.ErrNotBorrowed) {
		t.Errorf("Put to another pool = %v, want ErrNotBorrowed", err)
	}
	put(t, p, c, nil)
	if err := p.Put(c, nil); !errors.Is(err, pooling.ErrNotBorrowed) {
		t.Errorf("second Put = %v, want ErrNotBorrowed", err)
	}

	// A stale copy must not give back the connection lent again since.
	again := get(t, p)
	if again.Value() != c.Value() {
		t.Fatal("expected the same connection to be lent again")
	}
	if err := c.Release(nil, 1); !errors.Is(err, pooling.ErrNotBorrowed) {
		t.Errorf("stale Release = %v, want ErrNotBorrowed", err)
	}
	if st := p.Stats(); st.InUse != 1 {
		t.Errorf("in use = %d after a stale give-back, want 1", st.InUse)
	}
	put(t, p, again, nil)
	if v := (pooling.Conn[net.Conn]{}).Value(); v != nil {
		t.Errorf("zero Conn Value = %v", v)
	}
}

func TestPoolIdleTimeoutOnGet(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithIdleTimeout(time.Hour))

	c := get(t, p)
	first := c.Value()
	put(t, p, c, nil)
	pooling.AgeIdle(p, 59*time.Minute)
	c = get(t, p)
	if c.Value() != first {
		t.Fatal("a connection idle for less than the timeout was replaced")
	}
	put(t, p, c, nil)

	pooling.AgeIdle(p, time.Hour)
	c = get(t, p)
	if c.Value() == first {
		t.Fatal("a connection idle past the timeout was lent")
	}
	put(t, p, c, nil)
	if st := p.Stats(); st.ClosedIdle != 1 || st.Dialled != 2 || st.Open != 1 {
		t.Errorf("stats = %+v", st)
	}
	eventually(t, "one server connection", func() bool { return srv.Open() == 1 })
}

func TestPoolMaxLifetime(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithMaxLifetime(time.Hour))

	// Expired while idle: closed by the next Get.
	c := get(t, p)
	first := c.Value()
	put(t, p, c, nil)
	pooling.AgeIdle(p, time.Hour)
	c = get(t, p)
	if c.Value() == first {
		t.Fatal("a connection past its lifetime was lent")
	}

	// Expired while borrowed: closed when given back.
	pooling.AgeConn(c, 2*time.Hour)
	put(t, p, c, nil)
	if st := p.Stats(); st.ClosedLifetime != 2 || st.Open != 0 {
		t.Errorf("stats = %+v", st)
	}
	eventually(t, "no server connection", func() bool { return srv.Open() == 0 })
}

func TestPoolSweepClosesExpiredIdleConnections(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(2), pooling.WithIdleTimeout(40*time.Millisecond))
	eventually(t, "the idle connections to be swept", func() bool {
		st := p.Stats()
		return st.ClosedIdle == 2 && st.Open == 0
	})
	eventually(t, "no server connection", func() bool { return srv.Open() == 0 })

	q := newPool(t, srv.addr, pooling.WithPrespawn(2), pooling.WithMaxLifetime(40*time.Millisecond))
	eventually(t, "the old connections to be swept", func() bool {
		st := q.Stats()
		return st.ClosedLifetime == 2 && st.Open == 0
	})
}

func TestPoolCloseWaitsForBorrowedConnections(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0))
	c := get(t, p)
	idle := get(t, p)
	put(t, p, idle, nil)

	eventually(t, "two server connections", func() bool { return srv.Open() == 2 })

	closed := make(chan error)
	go func() { closed <- p.Close() }()
	eventually(t, "Close to start", func() bool { return p.Stats().Closed })
	eventually(t, "the idle connection to be closed", func() bool { return srv.Open() == 1 })
	if _, err := p.Get(bg()); !errors.Is(err, pooling.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if err := p.New(1); !errors.Is(err, pooling.ErrClosed) {
		t.Errorf("New after Close = %v, want ErrClosed", err)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v with a connection still borrowed", err)
	case <-time.After(20 * time.Millisecond):
	}
	if err := ping(c.Value()); err != nil {
		t.Errorf("a borrowed connection broke during Close: %v", err)
	}
	put(t, p, c, nil)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	eventually(t, "no server connection", func() bool { return srv.Open() == 0 })
	if err := p.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if st := p.Stats(); !st.Closed || st.Open != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestPoolForceClose(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithCloseDeadline(time.Hour))
	if p.ForceClose() {
		t.Error("ForceClose without a Close in progress reported true")
	}
	c := get(t, p)

	closed := make(chan error)
	go func() { closed <- p.Close() }()
	eventually(t, "ForceClose to interrupt Close", p.ForceClose)
	if err := <-closed; !errors.Is(err, pooling.ErrStillBorrowed) {
		t.Errorf("forced Close = %v, want ErrStillBorrowed", err)
	}
	if p.ForceClose() {
		t.Error("second ForceClose reported true")
	}
	// Given back late, the connection is still closed.
	put(t, p, c, nil)
	eventually(t, "no server connection", func() bool { return srv.Open() == 0 })
}

func TestPoolCloseDeadline(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithCloseDeadline(30*time.Millisecond))
	c := get(t, p)
	if err := p.Close(); !errors.Is(err, pooling.ErrStillBorrowed) {
		t.Errorf("Close past its deadline = %v, want ErrStillBorrowed", err)
	}
	put(t, p, c, nil)
	eventually(t, "no server connection", func() bool { return srv.Open() == 0 })
}

func TestPoolCloseWakesWaiters(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithMaxConns(1))
	c := get(t, p)
	got := make(chan error)
	go func() {
		_, err := p.Get(bg())
		got <- err
	}()
	eventually(t, "a waiting Get", func() bool { return p.Stats().Waiting == 1 })
	closed := make(chan error)
	go func() { closed <- p.Close() }()
	if err := <-got; !errors.Is(err, pooling.ErrClosed) {
		t.Errorf("waiting Get = %v, want ErrClosed", err)
	}
	put(t, p, c, nil)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
}

// flakyDialer fails its first n dials.
func flakyDialer(n int, d *pooling.NetDriver) pooling.DriverFuncs[net.Conn] {
	var calls atomic.Int64
	return pooling.DriverFuncs[net.Conn]{
		DialFunc: func(ctx context.Context, addr string) (net.Conn, error) {
			if calls.Add(1) <= int64(n) {
				return nil, syscall.ECONNREFUSED
			}
			return d.Dial(ctx, addr)
		},
		CloseFunc:     d.Close,
		TemporaryFunc: d.Temporary,
	}
}

func TestPoolRetriesDials(t *testing.T) {
	srv := startEcho(t)
	p, err := pooling.NewPool[net.Conn](srv.addr, flakyDialer(2, tcpDriver(t)),
		pooling.WithPrespawn(0), pooling.WithConnRetries(2, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := get(t, p)
	put(t, p, c, nil)
	if st := p.Stats(); st.DialFailures != 2 || st.Dialled != 1 {
		t.Errorf("stats = %+v", st)
	}

	// Against a dead host every attempt fails, and Get says why.
	dead := newPool(t, deadAddr(t), pooling.WithPrespawn(0), pooling.WithConnRetries(3, time.Millisecond))
	_, err = dead.Get(bg())
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Get from a dead host = %v, want ECONNREFUSED", err)
	}
	if st := dead.Stats(); st.DialFailures != 4 || st.GetFailures != 1 || st.Open != 0 || st.Dialling != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestPoolWaitTimeoutBoundsDialRetries(t *testing.T) {
	p := newPool(t, deadAddr(t), pooling.WithPrespawn(0),
		pooling.WithConnRetries(1000, 5*time.Millisecond), pooling.WithWaitTimeout(50*time.Millisecond))
	_, err := p.Get(bg())
	if !errors.Is(err, pooling.ErrTimeout) {
		t.Errorf("Get = %v, want ErrTimeout", err)
	}
	if st := p.Stats(); st.DialFailures < 2 || st.Dialling != 0 || st.Open != 0 {
		t.Errorf("stats = %+v, want several failed dials and nothing left open", st)
	}
}

func TestPoolSetMaxConns(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithMaxConns(3))
	cs := []pooling.Conn[net.Conn]{get(t, p), get(t, p), get(t, p)}
	put(t, p, cs[0], nil)

	// Lowering: the idle one goes at once, one borrowed one on return.
	if err := p.SetMaxConns(1); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Open != 2 || st.MaxConns != 1 || st.ClosedOverMax != 1 {
		t.Errorf("after lowering: %+v", st)
	}
	put(t, p, cs[1], nil)
	put(t, p, cs[2], nil)
	if st := p.Stats(); st.Open != 1 || st.Idle != 1 || st.ClosedOverMax != 2 {
		t.Errorf("after the returns: %+v", st)
	}

	// Raising: a waiting Get dials.
	held := get(t, p)
	got := make(chan error)
	go func() {
		c, err := p.Get(bg())
		if err == nil {
			err = p.Put(c, nil)
		}
		got <- err
	}()
	eventually(t, "a waiting Get", func() bool { return p.Stats().Waiting == 1 })
	if err := p.SetMaxConns(2); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	put(t, p, held, nil)
	if st := p.Stats(); st.Open != 2 {
		t.Errorf("after raising: %+v", st)
	}

	if err := p.SetMaxConns(0); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("SetMaxConns(0) = %v, want ErrInvalidArgument", err)
	}
	p.Close()
	if err := p.SetMaxConns(5); !errors.Is(err, pooling.ErrClosed) {
		t.Errorf("SetMaxConns after Close = %v, want ErrClosed", err)
	}
}

// TestPoolTestOnBorrowDropsDeadConnections checks that, with the default
// settings, an idle connection the server closed is detected and replaced
// once it has gone unborrowed for longer than the test-on-borrow window.
func TestPoolTestOnBorrowDropsDeadConnections(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0))
	c := get(t, p)
	first := c.Value()
	if err := ping(first); err != nil { // the server has accepted it
		t.Fatal(err)
	}
	put(t, p, c, nil)

	srv.DropConns() // the server closes the idle connection
	// The end of stream reaches our side a moment later; until then the
	// connection looks alive and may be lent.
	eventually(t, "the closed connection to be replaced", func() bool {
		pooling.AgeIdle(p, pooling.DefaultTestOnBorrowAfter)
		c = get(t, p)
		put(t, p, c, nil)
		return c.Value() != first
	})
	c = get(t, p)
	if err := ping(c.Value()); err != nil {
		t.Fatal(err)
	}
	put(t, p, c, nil)
	if st := p.Stats(); st.ClosedTestFailed != 1 || st.Dialled != 2 {
		t.Errorf("stats = %+v", st)
	}
}

// TestPoolTestOnBorrowWindowInRealTime is the same without the test hook:
// with a short window, real time passing is what brings the test back.
func TestPoolTestOnBorrowWindowInRealTime(t *testing.T) {
	srv := startEcho(t)
	const window = 20 * time.Millisecond
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithTestOnBorrow(window))
	c := get(t, p)
	first := c.Value()
	if err := ping(first); err != nil {
		t.Fatal(err)
	}
	put(t, p, c, nil)
	srv.DropConns()
	eventually(t, "the closed connection to be replaced", func() bool {
		time.Sleep(window + window/2)
		c = get(t, p)
		put(t, p, c, nil)
		return c.Value() != first
	})
	if st := p.Stats(); st.ClosedTestFailed != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestPoolTestOnBorrowOnlyAfterWindow(t *testing.T) {
	var tests atomic.Int64
	d := tcpDriver(t)
	drv := pooling.DriverFuncs[net.Conn]{
		DialFunc:  d.Dial,
		CloseFunc: d.Close,
		TestFunc: func(c net.Conn) error {
			tests.Add(1)
			return d.TestOnBorrow(c)
		},
	}
	srv := startEcho(t)
	mk := func(opts ...pooling.PoolOption) *pooling.Pool[net.Conn] {
		p, err := pooling.NewPool[net.Conn](srv.addr, drv, append(opts, pooling.WithPrespawn(0))...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}

	// A connection just used is lent untested. (The window is long so that
	// no period ends during the test.)
	p := mk(pooling.WithTestOnBorrow(time.Hour))
	put(t, p, get(t, p), nil) // dialled: lent without a test
	put(t, p, get(t, p), nil)
	put(t, p, get(t, p), nil)
	if n := tests.Load(); n != 0 {
		t.Errorf("%d tests within the window, want none", n)
	}
	pooling.AgeIdle(p, 30*time.Minute)
	put(t, p, get(t, p), nil)
	if n := tests.Load(); n != 0 {
		t.Errorf("%d tests inside the window, want none", n)
	}
	pooling.AgeIdle(p, time.Hour)
	put(t, p, get(t, p), nil) // unborrowed for the whole window: tested
	if n := tests.Load(); n != 1 {
		t.Errorf("%d tests, want 1", n)
	}

	// A connection prespawned and never lent is tested on its first
	// borrow.
	tests.Store(0)
	pre := mk(pooling.WithTestOnBorrow(time.Hour))
	if err := pre.New(1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the prespawned connection", func() bool { return pre.Stats().Idle == 1 })
	put(t, pre, get(t, pre), nil)
	put(t, pre, get(t, pre), nil)
	if n := tests.Load(); n != 1 {
		t.Errorf("%d tests of a prespawned connection, want 1", n)
	}

	// A window of zero tests every borrow of an idle connection.
	tests.Store(0)
	q := mk(pooling.WithTestOnBorrow(0))
	put(t, q, get(t, q), nil) // dialled: not tested
	put(t, q, get(t, q), nil)
	put(t, q, get(t, q), nil)
	if n := tests.Load(); n != 2 {
		t.Errorf("%d tests with a zero window, want 2", n)
	}

	tests.Store(0)
	r := mk(pooling.WithoutTestOnBorrow())
	put(t, r, get(t, r), nil)
	pooling.AgeIdle(r, time.Hour)
	put(t, r, get(t, r), nil)
	if n := tests.Load(); n != 0 {
		t.Errorf("%d tests with WithoutTestOnBorrow, want none", n)
	}
}

func TestPoolBadInput(t *testing.T) {
	d := tcpDriver(t)
	bad := map[string]pooling.PoolOption{
		"max conns":   pooling.WithMaxConns(0),
		"idle":        pooling.WithIdleTimeout(-1),
		"lifetime":    pooling.WithMaxLifetime(-1),
		"wait":        pooling.WithWaitTimeout(-1),
		"retries":     pooling.WithConnRetries(-1, 0),
		"retry delay": pooling.WithConnRetries(1, -1),
		"test":        pooling.WithTestOnBorrow(-1),
		"prespawn":    pooling.WithPrespawn(-1),
		"close":       pooling.WithCloseDeadline(0),
		"nil metrics": pooling.WithMetrics(nil),
		"typed nil metric": pooling.WithMetrics(&pooling.Metrics{
			ConnsCount: (*generic.Gauge)(nil),
		}),
		"nil option": nil,
	}
	for name, o := range bad {
		if _, err := pooling.NewPool[net.Conn]("127.0.0.1:1", d, o); !errors.Is(err, pooling.ErrInvalidArgument) {
			t.Errorf("%s: NewPool = %v, want ErrInvalidArgument", name, err)
		}
		if _, err := pooling.Factory[net.Conn](d, echoCall, o); !errors.Is(err, pooling.ErrInvalidArgument) {
			t.Errorf("%s: Factory = %v, want ErrInvalidArgument", name, err)
		}
		if _, err := pooling.NewService[net.Conn]("x", d, o); !errors.Is(err, pooling.ErrInvalidArgument) {
			t.Errorf("%s: NewService = %v, want ErrInvalidArgument", name, err)
		}
	}
	if _, err := pooling.NewPool[net.Conn]("", d); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("empty address: %v", err)
	}
	if _, err := pooling.NewPool[net.Conn]("127.0.0.1:1", nil); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("nil driver: %v", err)
	}
	if _, err := pooling.NewPool[net.Conn]("127.0.0.1:1", (*pooling.NetDriver)(nil)); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("typed nil driver: %v", err)
	}
	if _, err := pooling.NewPool[net.Conn]("127.0.0.1:1", pooling.DriverFuncs[net.Conn]{}); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("driver without dial: %v", err)
	}
}

func TestPoolConcurrentUseStaysWithinMax(t *testing.T) {
	srv := startEcho(t)
	const max = 4
	p := newPool(t, srv.addr, pooling.WithMaxConns(max))
	var wg sync.WaitGroup
	var over atomic.Bool
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c, err := p.Get(bg())
				if err != nil {
					t.Error(err)
					return
				}
				if st := p.Stats(); st.Open+st.Dialling > max {
					over.Store(true)
				}
				err = ping(c.Value())
				if err := p.Put(c, err); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if over.Load() {
		t.Error("more connections than the maximum were open")
	}
	st := p.Stats()
	if st.Gets != 800 || st.Puts != 800 || st.InUse != 0 || st.Dialled > max || st.ClosedFatal != 0 {
		t.Errorf("stats = %+v", st)
	}
	p.Close()
	eventually(t, "no server connection", func() bool { return srv.Open() == 0 })
}

// delays is a go-kit histogram that keeps what it observes.
type delays struct {
	mu   sync.Mutex
	seen []float64
}

func (d *delays) With(...string) metrics.Histogram { return d }

func (d *delays) Observe(v float64) {
	d.mu.Lock()
	d.seen = append(d.seen, v)
	d.mu.Unlock()
}

// A Get that dials is timed; a Get served from the lock-free lane (the
// goroutine's own idle connection) counts as 0 s, without a second clock
// reading.
func TestPoolGetDelayCountsLaneGetsAsZero(t *testing.T) {
	srv := startEcho(t)
	d := &delays{}
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithMetrics(&pooling.Metrics{ConnsGetDelay: d}))
	put(t, p, get(t, p), nil) // dials
	put(t, p, get(t, p), nil) // its first reuse may be tested (a liveness read)
	put(t, p, get(t, p), nil) // lent a moment ago: from the lane, untested
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.seen) != 3 || d.seen[0] <= 0 || d.seen[2] != 0 {
		t.Fatalf("get delays %v, want a dial's (> 0) first and 0 last", d.seen)
	}
}
