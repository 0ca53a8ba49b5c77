package grpcpool_test

// What a user of the reference gRPC pool meets: a cached pool per target
// (GetGrpcPool), an unreachable target reported by New, and dial options
// that add to the defaults.

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/seed41aebe0c/lbkit/grpcpool"
)

// closedPort returns a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestConnectTimeoutReportsUnreachableTarget(t *testing.T) {
	start := time.Now()
	p, err := grpcpool.New(closedPort(t), grpcpool.WithConnectTimeout(300*time.Millisecond))
	if !errors.Is(err, grpcpool.ErrUnreachable) || p != nil {
		t.Fatalf("New(closed port) = %v, %v; want ErrUnreachable", p, err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 10*time.Second {
		t.Errorf("New gave up after %v, want about the 300ms asked", d)
	}
	t.Log(err)

	// Without the option New does not wait (the default), and a call
	// fails instead.
	p, err = grpcpool.New(closedPort(t))
	if err != nil {
		t.Fatalf("New without connect timeout: %v", err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := healthpb.NewHealthClient(p).Check(ctx, &healthpb.HealthCheckRequest{}); err == nil {
		t.Error("a call to a closed port succeeded")
	}

	if _, err := grpcpool.New("x:1", grpcpool.WithConnectTimeout(0)); !errors.Is(err, grpcpool.ErrInvalidArgument) {
		t.Errorf("WithConnectTimeout(0) = %v, want ErrInvalidArgument", err)
	}
}

func TestConnectTimeoutReturnsReadyPool(t *testing.T) {
	srv := startServer(t, "127.0.0.1:0")
	p := newPool(t, srv.addr, grpcpool.WithConnectTimeout(10*time.Second))
	if countState(p, connectivity.Ready) < 1 {
		t.Errorf("New returned with no READY connection: %+v", p.State())
	}
	if err := check(context.Background(), healthpb.NewHealthClient(p)); err != nil {
		t.Fatal(err)
	}
}

func TestCacheSharesOnePoolPerTarget(t *testing.T) {
	a, b := startServer(t, "127.0.0.1:0"), startServer(t, "127.0.0.1:0")
	var c grpcpool.Cache
	defer c.Close()

	pools := make([]*grpcpool.Pool, 20)
	var wg sync.WaitGroup
	for i := range pools {
		wg.Go(func() {
			p, err := c.Get(a.addr, grpcpool.WithSize(2))
			if err != nil {
				t.Error(err)
			}
			pools[i] = p
		})
	}
	wg.Wait()
	for _, p := range pools[1:] {
		if p != pools[0] {
			t.Fatal("concurrent Gets of one target made several pools")
		}
	}
	pb, err := c.Get(b.addr)
	if err != nil || pb == pools[0] {
		t.Fatalf("Get(b) = %p, %v; want a pool of its own", pb, err)
	}
	if err := check(context.Background(), healthpb.NewHealthClient(pb)); err != nil {
		t.Fatal(err)
	}

	// A pool closed by its user is replaced; an unreachable target is not
	// cached.
	pools[0].Close()
	pa, err := c.Get(a.addr)
	if err != nil || pa == pools[0] || pa.State().Closed {
		t.Fatalf("Get after the pool was closed = %p, %v", pa, err)
	}
	dead := closedPort(t)
	if _, err := c.Get(dead, grpcpool.WithConnectTimeout(100*time.Millisecond)); !errors.Is(err, grpcpool.ErrUnreachable) {
		t.Fatalf("Get(dead) = %v, want ErrUnreachable", err)
	}
	if p, err := c.Get(dead); err != nil || p == nil {
		t.Fatalf("Get(dead) without a connect timeout after a failed one = %v, %v; the failure was cached", p, err)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if !pa.State().Closed || !pb.State().Closed {
		t.Error("Cache.Close left pools open")
	}
	if _, err := c.Get(a.addr); !errors.Is(err, grpcpool.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestDialOptionsAddToDefaults: a dial option of the user's (a user agent)
// keeps the pool's defaults, here the 1 GiB receive limit, so a 5 MiB reply
// (over grpc's own 4 MiB limit) still arrives. The reference's
// WithDialOptions replaced the defaults.
func TestDialOptionsAddToDefaults(t *testing.T) {
	srv := startServer(t, "127.0.0.1:0")
	const big = 5 << 20
	p := newPool(t, srv.addr, grpcpool.WithDialOptions(grpc.WithUserAgent("lbkit-test")))
	resp, err := testpb.NewTestServiceClient(p).UnaryCall(context.Background(), &testpb.SimpleRequest{ResponseSize: big})
	if err != nil || len(resp.GetPayload().GetBody()) != big {
		t.Fatalf("5 MiB reply through a pool with a user dial option: %v", err)
	}
	// A plain ClientConn with grpc's defaults refuses it: the limit the
	// pool's default lifts.
	cc, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := testpb.NewTestServiceClient(cc).UnaryCall(context.Background(), &testpb.SimpleRequest{ResponseSize: big}); err == nil {
		t.Error("grpc's default 4 MiB limit let a 5 MiB reply through; the test shows nothing")
	}
}
