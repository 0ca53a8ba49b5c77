package pooling_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/pooling"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// echoCall sends the request string as a line and returns the line echoed,
// with the server's address so tests can tell hosts apart.
func echoCall(_ context.Context, c net.Conn, req any) (any, error) {
	msg := req.(string) + "\n"
	if _, err := io.WriteString(c, msg); err != nil {
		return nil, err
	}
	b := make([]byte, len(msg))
	if _, err := io.ReadFull(c, b); err != nil {
		return nil, err
	}
	return c.RemoteAddr().String() + " " + string(b[:len(b)-1]), nil
}

func TestFactoryPutsAPoolUnderEveryEndpoint(t *testing.T) {
	a, b := startEcho(t), startEcho(t)
	f, err := pooling.Factory[net.Conn](tcpDriver(t), echoCall, pooling.WithPrespawn(0))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := static.NewAddresses(a.addr, b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	lb, err := loadbalancer.New(pub, f, loadbalancer.WithStrategy(strategy.RoundRobin{}))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for range 10 {
		ep, err := lb.Endpoint()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ep(bg(), "hi")
		if err != nil {
			t.Fatal(err)
		}
		seen[resp.(string)]++
	}
	if seen[a.addr+" hi"] != 5 || seen[b.addr+" hi"] != 5 {
		t.Errorf("responses %v, want 5 from each host", seen)
	}
	// Each host's pool reused one connection for its five calls.
	if a.accepted.Load() != 1 || b.accepted.Load() != 1 {
		t.Errorf("accepted %d and %d connections, want 1 each", a.accepted.Load(), b.accepted.Load())
	}

	// Removing an instance closes its pool, and so its connection.
	if err := pub.Replace(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pools to close", func() bool { return a.Open() == 0 && b.Open() == 0 })
	if err := lb.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFactoryEndpointGivesBackWithCallError(t *testing.T) {
	srv := startEcho(t)
	fail := io.ErrUnexpectedEOF
	call := func(ctx context.Context, c net.Conn, req any) (any, error) {
		if req == "fail" {
			return nil, fail
		}
		if req == "app" {
			return nil, errApp
		}
		return echoCall(ctx, c, req)
	}
	f, err := pooling.Factory[net.Conn](tcpDriver(t), call, pooling.WithPrespawn(0))
	if err != nil {
		t.Fatal(err)
	}
	ep, closer, err := f(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	p := closer.(interface{ Stats() pooling.Stats })
	if _, err := ep(bg(), "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := ep(bg(), "app"); !errors.Is(err, errApp) {
		t.Fatalf("app call = %v", err)
	}
	if st := p.Stats(); st.Open != 1 || st.ClosedFatal != 0 {
		t.Errorf("an application error closed the connection: %+v", st)
	}
	if _, err := ep(bg(), "fail"); !errors.Is(err, fail) {
		t.Fatalf("failing call = %v", err)
	}
	if st := p.Stats(); st.Open != 0 || st.ClosedFatal != 1 {
		t.Errorf("a fatal error kept the connection: %+v", st)
	}
	if _, err := ep(bg(), "y"); err != nil {
		t.Fatal(err)
	}
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ep(bg(), "z"); !errors.Is(err, pooling.ErrClosed) {
		t.Errorf("call after the closer ran = %v, want ErrClosed", err)
	}
	eventually(t, "no server connection", func() bool { return srv.Open() == 0 })

	pool := newPool(t, srv.addr)
	if _, err := pool.Endpoint(nil)(bg(), "x"); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("endpoint with a nil call = %v, want ErrInvalidArgument", err)
	}
}

func TestFactoryBadInput(t *testing.T) {
	d := tcpDriver(t)
	if _, err := pooling.Factory[net.Conn](nil, echoCall); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("nil driver: %v", err)
	}
	if _, err := pooling.Factory[net.Conn](d, nil); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("nil call: %v", err)
	}
	if _, err := pooling.Factory[net.Conn](d, echoCall, pooling.WithMaxConns(-1)); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("bad option: %v", err)
	}
	f, err := pooling.Factory[net.Conn](d, echoCall)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f(""); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("empty instance: %v", err)
	}
}

// TestFactoryCloserDoesNotWait: the closer of an instance whose connection
// is still out (a call in flight) closes the idle connection at once and
// returns at once, not after the 30s close deadline; the borrowed
// connection is closed when the call gives it back.
func TestFactoryCloserDoesNotWait(t *testing.T) {
	srv := startEcho(t)
	release := make(chan struct{})
	call := func(ctx context.Context, c net.Conn, req any) (any, error) {
		if req == "slow" {
			<-release
		}
		return echoCall(ctx, c, req)
	}
	f, err := pooling.Factory[net.Conn](tcpDriver(t), call, pooling.WithPrespawn(0))
	if err != nil {
		t.Fatal(err)
	}
	ep, closer, err := f(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	slow := make(chan error, 1)
	go func() { _, err := ep(bg(), "slow"); slow <- err }()
	eventually(t, "the slow call's connection", func() bool { return srv.Open() == 1 })
	if _, err := ep(bg(), "quick"); err != nil { // a second connection, idle after
		t.Fatal(err)
	}
	if srv.Open() != 2 {
		t.Fatalf("%d connections open, want 2", srv.Open())
	}
	closed := make(chan error, 1)
	go func() { closed <- closer.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		close(release)
		<-slow
		<-closed
		t.Fatal("the closer waited for the borrowed connection")
	}
	eventually(t, "the idle connection closed", func() bool { return srv.Open() == 1 })
	close(release)
	if err := <-slow; err != nil {
		t.Fatalf("the call in flight failed: %v", err)
	}
	eventually(t, "the borrowed connection closed on its return", func() bool { return srv.Open() == 0 })
	if _, err := ep(bg(), "late"); !errors.Is(err, pooling.ErrClosed) {
		t.Fatalf("call after close = %v, want ErrClosed", err)
	}
}
