package pooling_test

// Tests of what a pooly user meets: the score calculator, and which errors
// keep a connection.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/pooling"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// TestTransformIsPoolysComputer is pooly's ScoreCalculator example: a host
// that served 9 calls well and 1 badly has the aggregate score 0.9, and the
// calculator x² ranks it by 0.81. Bandit.Transform sees the aggregate, not
// each released score (with 0/1 scores, squaring each would change
// nothing and leave 0.9).
func TestTransformIsPoolysComputer(t *testing.T) {
	a, b := startEcho(t), startEcho(t)
	clock := newClock()
	var mu sync.Mutex
	ranked := map[float64]float64{} // input -> output
	square := func(x float64) float64 {
		mu.Lock()
		defer mu.Unlock()
		ranked[x] = x * x
		return x * x
	}
	st := strategy.EpsilonGreedy{Bandit: strategy.Bandit{Transform: square, Memoize: time.Nanosecond}}
	s := newService(t, []string{a.addr, b.addr}, pooling.WithStrategy(st),
		pooling.WithHostOptions(strategy.WithClock(clock.Now)))

	for i := range 10 {
		c := borrowFrom(t, s, a.addr)
		score := strategy.HostUp
		if i == 9 {
			score = strategy.HostDown
		}
		if err := c.Release(nil, score); err != nil {
			t.Fatal(err)
		}
	}
	if h := hostStatus(t, s, a.addr); math.Abs(h.Score-0.9) > 1e-9 {
		t.Fatalf("aggregate score after 9 up and 1 down = %v, want 0.9", h.Score)
	}
	// The picker refreshes its table once the hosts' clock has moved, on
	// a pick that checks (one in sixteen at least). These picks record
	// nothing: their callers gave up, which is never held against a host.
	clock.Advance(time.Millisecond)
	for range 200 {
		ctx, cancel := context.WithCancel(bg())
		c, err := s.GetConn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		c.Release(ctx.Err(), strategy.HostDown)
		mu.Lock()
		_, seen := ranked[0.9]
		mu.Unlock()
		if seen {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	got, ok := ranked[0.9]
	if !ok {
		t.Fatalf("the transform never saw the aggregate 0.9; it saw %v", ranked)
	}
	if math.Abs(got-0.81) > 1e-9 {
		t.Errorf("host ranked by %v, want 0.81", got)
	}
}

// lateEcho is a real TCP server that answers each line with "reply-N\n"
// after a delay, N counting the lines it has read on that connection.
func lateEcho(t *testing.T, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				r := bufio.NewReader(c)
				for n := 1; ; n++ {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
					time.Sleep(delay)
					if _, err := fmt.Fprintf(c, "reply-%d\n", n); err != nil {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// ask sends a line and reads one line back, within d.
func ask(c net.Conn, d time.Duration) (string, error) {
	if err := c.SetDeadline(time.Now().Add(d)); err != nil {
		return "", err
	}
	defer c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(c, "q\n"); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

// poolyTemporary is pooly's NetDriver.Temporary: net.Error.Temporary.
func poolyTemporary(err error) bool {
	var ne interface{ Temporary() bool }
	return errors.As(err, &ne) && ne.Temporary()
}

// TestNetDriverTimeoutIsFatalUnlikePooly is the deliberate difference from
// pooly: a read timeout is a "temporary" net.Error, so pooly keeps the
// connection, and its late reply is then read by the next borrower as the
// answer to its own question. NetDriver closes it, and the next borrower
// gets a fresh connection and its own answer.
func TestNetDriverTimeoutIsFatalUnlikePooly(t *testing.T) {
	addr := lateEcho(t, 150*time.Millisecond)
	nd := tcpDriver(t)
	pooly := pooling.DriverFuncs[net.Conn]{DialFunc: nd.Dial, CloseFunc: nd.Close, TemporaryFunc: poolyTemporary}
	for name, d := range map[string]pooling.Driver[net.Conn]{"lbkit": nd, "pooly": pooly} {
		p, err := pooling.NewPool(addr, d, pooling.WithPrespawn(0), pooling.WithCloseDeadline(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		c := get(t, p)
		_, err = ask(c.Value(), 30*time.Millisecond)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("%s: first question = %v, want a timeout", name, err)
		}
		fatal := p.Fatal(err)
		put(t, p, c, err)
		c = get(t, p)
		reply, err := ask(c.Value(), 2*time.Second)
		put(t, p, c, err)
		st := p.Stats()
		p.Close()
		switch name {
		case "lbkit":
			if !fatal || reply != "reply-1\n" || st.Dialled != 2 || st.ClosedFatal != 1 {
				t.Errorf("lbkit: fatal=%v, second reply %q (%v), stats %+v; want a fresh connection answering reply-1", fatal, reply, err, st)
			}
		case "pooly":
			// The stale answer to the first question: the flaw this
			// difference avoids.
			if fatal || reply != "reply-1\n" || st.Dialled != 1 {
				t.Errorf("pooly: fatal=%v, second reply %q (%v), stats %+v; want the kept connection's stale reply-1", fatal, reply, err, st)
			}
		}
	}
}

// TestNetDriverErrorKinds: an application error keeps the connection
// (pooly's Temporary closed it: it is no net.Error), a reset from a real
// peer closes it (as in pooly).
func TestNetDriverErrorKinds(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0))
	c := get(t, p)
	first := c.Value()
	if p.Fatal(errApp) || poolyTemporary(errApp) {
		t.Errorf("Fatal(app error) = %v, pooly temporary = %v; want false, false", p.Fatal(errApp), poolyTemporary(errApp))
	}
	put(t, p, c, errApp)
	c = get(t, p)
	if c.Value() != first {
		t.Error("an application error closed the connection")
	}
	if err := ping(c.Value()); err != nil {
		t.Fatal(err)
	}

	// A reset: the peer closes with unread data and linger 0.
	var resets atomic.Int32
	srv.mu.Lock()
	for sc := range srv.conns {
		if tc, ok := sc.(*net.TCPConn); ok {
			tc.SetLinger(0)
			resets.Add(1)
		}
	}
	srv.mu.Unlock()
	if resets.Load() == 0 {
		t.Fatal("no server connection to reset")
	}
	srv.DropConns()
	var err error
	for range 50 { // the RST arrives asynchronously
		if err = ping(c.Value()); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err == nil {
		t.Fatal("ping over a reset connection succeeded")
	}
	if !p.Fatal(err) {
		t.Errorf("Fatal(%v) = false after a reset", err)
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("ping after a reset = %v, want ECONNRESET or EPIPE", err)
	}
	if poolyTemporary(err) {
		t.Errorf("pooly would have kept a reset connection: %v", err)
	}
	put(t, p, c, err)
	if st := p.Stats(); st.ClosedFatal != 1 || st.Open != 0 {
		t.Errorf("after a reset: stats %+v", st)
	}
	if p.Fatal(nil) {
		t.Error("Fatal(nil) = true")
	}
}
