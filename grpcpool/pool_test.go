package grpcpool_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/seed41aebe0c/lbkit/grpcpool"
)

func TestNewRejectsBadInput(t *testing.T) {
	cases := map[string]struct {
		target string
		opts   []grpcpool.Option
	}{
		"empty target":        {"", nil},
		"zero size":           {"127.0.0.1:1", []grpcpool.Option{grpcpool.WithSize(0)}},
		"negative size":       {"127.0.0.1:1", []grpcpool.Option{grpcpool.WithSize(-1)}},
		"nil option":          {"127.0.0.1:1", []grpcpool.Option{nil}},
		"nil dial option":     {"127.0.0.1:1", []grpcpool.Option{grpcpool.WithDialOptions(nil)}},
		"nil logger":          {"127.0.0.1:1", []grpcpool.Option{grpcpool.WithLogger(nil)}},
		"typed nil logger":    {"127.0.0.1:1", []grpcpool.Option{grpcpool.WithLogger((*nilLogger)(nil))}},
		"negative failover":   {"127.0.0.1:1", []grpcpool.Option{grpcpool.WithFailover(-1)}},
		"zero keep-alive":     {"127.0.0.1:1", []grpcpool.Option{grpcpool.WithKeepAlive(0, time.Second, true)}},
		"negative window":     {"127.0.0.1:1", []grpcpool.Option{grpcpool.WithWindowSizes(-1, 1<<20)}},
		"zero message size":   {"127.0.0.1:1", []grpcpool.Option{grpcpool.WithMaxMsgSizes(0, 1)}},
		"zero dial timeout":   {"127.0.0.1:1", []grpcpool.Option{grpcpool.WithDialTimeout(0)}},
		"negative period":     {"127.0.0.1:1", []grpcpool.Option{grpcpool.WithScaleOut(grpcpool.ScaleConfig{Period: -time.Second})}},
		"negative desired":    {"127.0.0.1:1", []grpcpool.Option{grpcpool.WithScaleOut(grpcpool.ScaleConfig{DesiredMaxStreams: -1})}},
		"negative max conns":  {"127.0.0.1:1", []grpcpool.Option{grpcpool.WithScaleOut(grpcpool.ScaleConfig{MaxConns: -1})}},
		"size above max":      {"127.0.0.1:1", []grpcpool.Option{grpcpool.WithSize(5), grpcpool.WithScaleOut(grpcpool.ScaleConfig{MaxConns: 4})}},
		"unparseable target":  {"unknown-scheme://host:%zz", nil},
		"missing credentials": {"127.0.0.1:1", []grpcpool.Option{grpcpool.WithDialOptions(grpc.WithTransportCredentials(nil))}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := grpcpool.New(tc.target, tc.opts...)
			if !errors.Is(err, grpcpool.ErrInvalidArgument) {
				if p != nil {
					_ = p.Close()
				}
				t.Fatalf("New: got %v, want ErrInvalidArgument", err)
			}
		})
	}
}

// nilLogger is a log.Logger whose nil pointer passes a plain nil check.
type nilLogger struct{}

func (*nilLogger) Log(...any) error { return nil }

func TestUnaryCallsThroughGeneratedClient(t *testing.T) {
	srv := startServer(t, "127.0.0.1:0")
	p := newPool(t, srv.addr)
	client := healthpb.NewHealthClient(p) // the pool stands in for a *grpc.ClientConn

	for range 60 {
		if err := check(context.Background(), client); err != nil {
			t.Fatal(err)
		}
	}
	st := p.State()
	if st.Target != srv.addr || st.Size != grpcpool.DefaultSize || st.Closed || st.ScaleOut {
		t.Fatalf("state %+v", st)
	}
	if st.Scale != (grpcpool.ScaleConfig{Period: grpcpool.DefaultScalePeriod, DesiredMaxStreams: grpcpool.DefaultDesiredMaxStreams, MaxConns: grpcpool.DefaultMaxConns}) {
		t.Fatalf("scale settings %+v", st.Scale)
	}
	if st.InFlight != 0 {
		t.Fatalf("in flight after calls: %d", st.InFlight)
	}
	// Idle connections tie, and ties are broken at random: 60 calls reach
	// all three connections (missing one has odds of about 3·(2/3)^60).
	if got := srv.peerCount(); got != grpcpool.DefaultSize {
		t.Fatalf("calls came over %d connections, want %d", got, grpcpool.DefaultSize)
	}
	if got := srv.calls.Load(); got != 60 {
		t.Fatalf("server saw %d calls, want 60", got)
	}
}

func TestServerErrorsPassThrough(t *testing.T) {
	srv := startServer(t, "127.0.0.1:0")
	p := newPool(t, srv.addr)
	_, err := healthpb.NewHealthClient(p).Check(context.Background(), &healthpb.HealthCheckRequest{Service: "no-such-service"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("got %v, want NotFound", err)
	}
	if n := p.State().InFlight; n != 0 {
		t.Fatalf("in flight after a failed call: %d", n)
	}
}

func TestStreamsGoToLeastLoadedAndCountDownOnCancel(t *testing.T) {
	srv := startServer(t, "127.0.0.1:0")
	p := newPool(t, srv.addr)
	waitFor(t, "all connections ready", allReady(p))
	client := healthpb.NewHealthClient(p)

	ctx, cancel := context.WithCancel(context.Background())
	for range 6 {
		// Watch streams stay open until cancelled.
		if _, err := client.Watch(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	st := p.State()
	if st.InFlight != 6 {
		t.Fatalf("in flight %d, want 6", st.InFlight)
	}
	for i, c := range st.Conns {
		if c.InFlight != 2 {
			t.Fatalf("connection %d has %d streams, want 2 each: %+v", i, c.InFlight, st.Conns)
		}
	}
	cancel() // no RecvMsg ever called: only the context ends them
	waitFor(t, "streams counted down after cancel", func() bool { return p.State().InFlight == 0 })
}

func TestStreamsCountDownWhenTheyEnd(t *testing.T) {
	srv := startServer(t, "127.0.0.1:0")
	p := newPool(t, srv.addr)
	client := testpb.NewTestServiceClient(p)
	ctx := context.Background()
	inFlight := func() int64 { return p.State().InFlight }

	t.Run("server streaming to io.EOF", func(t *testing.T) {
		st, err := client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{
			ResponseParameters: []*testpb.ResponseParameters{{Size: 1}, {Size: 2}, {Size: 3}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if inFlight() != 1 {
			t.Fatalf("open stream not counted: %d", inFlight())
		}
		n := 0
		for {
			_, err := st.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 3 || inFlight() != 0 {
			t.Fatalf("got %d messages, in flight %d; want 3 and 0", n, inFlight())
		}
	})
	t.Run("server streaming ended by an error status", func(t *testing.T) {
		st, err := client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{
			ResponseParameters: []*testpb.ResponseParameters{{Size: 1}, {Size: -1}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); status.Code(err) != codes.InvalidArgument {
			t.Fatalf("got %v, want InvalidArgument", err)
		}
		if inFlight() != 0 {
			t.Fatalf("in flight %d after error", inFlight())
		}
	})
	t.Run("client streaming", func(t *testing.T) {
		st, err := client.StreamingInputCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := st.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: []byte("ab")}}); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := st.CloseAndRecv()
		if err != nil || resp.GetAggregatedPayloadSize() != 6 {
			t.Fatalf("got %v, %v; want 6", resp, err)
		}
		if inFlight() != 0 {
			t.Fatalf("in flight %d after CloseAndRecv", inFlight())
		}
	})
	t.Run("bidi streaming", func(t *testing.T) {
		st, err := client.FullDuplexCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := st.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte("x")}}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Recv(); err != nil {
				t.Fatal(err)
			}
		}
		if inFlight() != 1 {
			t.Fatalf("open bidi stream not counted: %d", inFlight())
		}
		if err := st.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); err != io.EOF {
			t.Fatalf("got %v, want io.EOF", err)
		}
		if inFlight() != 0 {
			t.Fatalf("in flight %d after EOF", inFlight())
		}
	})
}

func TestSkipsConnectionsThatAreNotReady(t *testing.T) {
	a := startServer(t, "127.0.0.1:0")
	b := startServer(t, "127.0.0.1:0")
	// Without failover, only picking can keep calls off the dead server.
	p := newPool(t, pinTarget, grpcpool.WithSize(4), pinned(a.addr, b.addr), grpcpool.WithFailover(0))
	waitFor(t, "all connections ready", allReady(p))
	client := healthpb.NewHealthClient(p)

	a.srv.Stop()
	waitFor(t, "the two connections to the stopped server to leave READY", func() bool {
		return countState(p, connectivity.Ready) == 2
	})
	before := b.calls.Load()
	for i := range 200 {
		if err := check(context.Background(), client); err != nil {
			t.Fatalf("call %d with one server down: %v", i, err)
		}
	}
	if got := b.calls.Load() - before; got != 200 {
		t.Fatalf("the live server saw %d of 200 calls", got)
	}

	a2 := startServer(t, a.addr)
	waitFor(t, "reconnection to the restarted server", allReady(p))
	for range 100 {
		if err := check(context.Background(), client); err != nil {
			t.Fatal(err)
		}
	}
	if a2.calls.Load() == 0 {
		t.Fatal("the restarted server got no calls")
	}
}

// TestRestartMidTraffic restarts one of two servers (stop, then a new
// server on the same port) while eight callers keep calling, and requires
// that not one call fails.
//
// The connections are pinned: two talk only to server A, two only to B
// (pinResolver), so while A is down its connections really are down, and
// only the pool can keep calls away from them. Calls under way on A when it
// stops finish (GracefulStop). Calls that picked an A connection an instant
// before A's GOAWAY made it leave READY fail inside grpc without being sent
// (without failover, about one run in six loses a call or two this way),
// and the pool's failover moves them to a connection not yet tried: at
// worst the other A connection, then a B one. So failover, not timing, is
// what makes the outcome certain. Every wait is a poll with a deadline.
func TestRestartMidTraffic(t *testing.T) {
	a := startServer(t, "127.0.0.1:0")
	b := startServer(t, "127.0.0.1:0")
	p := newPool(t, pinTarget, grpcpool.WithSize(4), pinned(a.addr, b.addr))
	waitFor(t, "all connections ready", allReady(p))

	tr := startTraffic(healthpb.NewHealthClient(p), 8, 500_000, 2*time.Minute)
	defer tr.halt()
	progress := func(n int64) {
		t.Helper()
		target := tr.ok.Load() + n
		waitFor(t, "calls to go on", func() bool { return tr.ok.Load() >= target })
	}
	progress(300)

	a.srv.GracefulStop()
	waitFor(t, "A's connections to leave READY", func() bool { return countState(p, connectivity.Ready) == 2 })
	bBefore := b.calls.Load()
	progress(500) // with A down
	// Up to one call per worker may have been served before bBefore was
	// read and counted as done after.
	if b.calls.Load()-bBefore < 500-8 {
		t.Fatalf("B served %d calls while A was down", b.calls.Load()-bBefore)
	}

	a2 := startServer(t, a.addr)
	waitFor(t, "reconnection to the restarted A", allReady(p))
	waitFor(t, "the restarted A to serve calls", func() bool { return a2.calls.Load() >= 300 })
	tr.halt()

	if n := tr.failed.Load(); n != 0 {
		t.Fatalf("%d of %d calls failed; first: %v", n, n+tr.ok.Load(), tr.firstErr)
	}
	t.Logf("%d calls, none failed; B served %d, restarted A %d", tr.ok.Load(), b.calls.Load(), a2.calls.Load())
	if n := p.State().InFlight; n != 0 {
		t.Fatalf("in flight after traffic: %d", n)
	}
}

// TestFailoverWhenNothingWasSent makes fresh pools whose first connection
// leads to a closed port and whose second to a live server, and makes one
// call on each at once. Whichever connection the call picks, it must
// succeed: on the dead one grpc fails it before sending, and the pool
// tries the other.
func TestFailoverWhenNothingWasSent(t *testing.T) {
	live := startServer(t, "127.0.0.1:0")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := lis.Addr().String()
	lis.Close()

	for i := range 20 {
		p, err := grpcpool.New(pinTarget, grpcpool.WithSize(2), pinned(dead, live.addr))
		if err != nil {
			t.Fatal(err)
		}
		err = check(context.Background(), healthpb.NewHealthClient(p))
		_ = p.Close()
		if err != nil {
			t.Fatalf("pool %d: %v", i, err)
		}
	}
}

func TestScaleOut(t *testing.T) {
	srv := startServer(t, "127.0.0.1:0")
	p := newPool(t, srv.addr, grpcpool.WithSize(1),
		grpcpool.WithScaleOut(grpcpool.ScaleConfig{Period: 10 * time.Millisecond, DesiredMaxStreams: 4, MaxConns: 3}))
	client := healthpb.NewHealthClient(p)
	if st := p.State(); !st.ScaleOut || st.Size != 1 {
		t.Fatalf("state %+v", st)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 12 {
		if _, err := client.Watch(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	// 12 streams on 1 connection against a desired 4: (12−4)/(4/2) = 4
	// more connections, capped at MaxConns = 3.
	waitFor(t, "scale-out to MaxConns", func() bool { return p.State().Size == 3 })
	waitFor(t, "new connections ready", allReady(p))
	for range 30 {
		if err := check(context.Background(), client); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	waitFor(t, "streams counted down", func() bool { return p.State().InFlight == 0 })
	if st := p.State(); st.Size != 3 {
		t.Fatalf("the pool shrank or grew past MaxConns: %d", st.Size)
	}
}

func TestNoScaleOutByDefault(t *testing.T) {
	srv := startServer(t, "127.0.0.1:0")
	p := newPool(t, srv.addr, grpcpool.WithSize(1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 200 {
		if _, err := healthpb.NewHealthClient(p).Watch(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if st := p.State(); st.Size != 1 || st.ScaleOut || st.InFlight != 200 {
		t.Fatalf("state %+v", st)
	}
}

func TestClose(t *testing.T) {
	srv := startServer(t, "127.0.0.1:0")
	p, err := grpcpool.New(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	client := healthpb.NewHealthClient(p)
	if err := check(context.Background(), client); err != nil {
		t.Fatal(err)
	}
	watch, err := client.Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil {
		t.Fatal(err)
	}

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := watch.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("open stream after Close: got %v, want Canceled", err)
	}
	err = check(context.Background(), client)
	if !errors.Is(err, grpcpool.ErrClosed) || status.Code(err) != codes.Canceled {
		t.Fatalf("Invoke after Close: %v", err)
	}
	if _, err := client.Watch(context.Background(), &healthpb.HealthCheckRequest{}); !errors.Is(err, grpcpool.ErrClosed) {
		t.Fatalf("NewStream after Close: %v", err)
	}
	st := p.State()
	if !st.Closed || st.InFlight != 0 {
		t.Fatalf("state after Close %+v", st)
	}
	for i, c := range st.Conns {
		if c.State != connectivity.Shutdown {
			t.Fatalf("connection %d is %v after Close", i, c.State)
		}
	}
}
