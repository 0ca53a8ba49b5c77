package grpcpool_test

// The reference's load evidence, as a test program: its performance table
// (1/3/6/12 connections x 100/300 callers x 66 B/4 KB messages, and no
// pool) and its stability test (a rolling restart of 3 servers under 300
// callers, with and without scale-out, at 0 errors).
//
// It runs only when asked, since a full run loads the machine for minutes:
//
//	LBKIT_GRPC_LOAD=100 go test -run 'TestReference(Load|RollingRestart)' -v ./grpcpool
//
// LBKIT_GRPC_LOAD is the number of calls per caller: the reference made
// 20,000 (2,000,000 calls from 100 callers, 6,000,000 from 300).

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/seed41aebe0c/lbkit/grpcpool"
)

// loadPerCaller reads LBKIT_GRPC_LOAD, skipping the test when it is unset.
func loadPerCaller(t *testing.T) int64 {
	t.Helper()
	v := os.Getenv("LBKIT_GRPC_LOAD")
	if v == "" {
		t.Skip("set LBKIT_GRPC_LOAD=<calls per caller> to run the reference's load program")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > 20_000 {
		t.Fatalf("LBKIT_GRPC_LOAD=%q, want 1..20000 calls per caller", v)
	}
	return n
}

// load is callers goroutines making UnaryCalls of size bytes each way,
// until total calls are made, stop is closed or maxTime has passed.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	firstErr   error
	elapsed    time.Duration
	done       chan struct{}
}

func runLoad(client testpb.TestServiceClient, callers int, total int64, size int, maxTime time.Duration, stop <-chan struct{}) *load {
	l := &load{done: make(chan struct{})}
	var next atomic.Int64
	end := time.Now().Add(maxTime)
	start := time.Now()
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			req := &testpb.SimpleRequest{ResponseSize: int32(size), Payload: &testpb.Payload{Body: make([]byte, size)}}
			for next.Add(1) <= total && time.Now().Before(end) {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_, err := client.UnaryCall(ctx, req)
				cancel()
				if err != nil {
					l.failed.Add(1)
					l.mu.Lock()
					if l.firstErr == nil {
						l.firstErr = err
					}
					l.mu.Unlock()
					continue
				}
				l.ok.Add(1)
			}
		})
	}
	go func() {
		wg.Wait()
		l.elapsed = time.Since(start)
		close(l.done)
	}()
	return l
}

func (l *load) wait() *load { <-l.done; return l }

// TestReferenceLoad prints the reference's performance table, measured
// here: client and 3 servers in one process on 127.0.0.1, each pool
// connection pinned to a server in turn, as a Kubernetes service spreads
// connections over pods.
func TestReferenceLoad(t *testing.T) {
	perCaller := loadPerCaller(t)
	addrs := make([]string, 3)
	for i := range addrs {
		addrs[i] = startServer(t, "127.0.0.1:0").addr
	}
	t.Logf("%-6s %9s %7s %9s %8s %6s %6s", "conns", "requests", "callers", "time(ms)", "qps", "size", "errors")
	for _, size := range []int{66, 4096} {
		for _, callers := range []int{100, 300} {
			total := perCaller * int64(callers)
			for _, conns := range []int{0, 1, 3, 6, 12} {
				var cc grpc.ClientConnInterface
				var closer func() error
				if conns == 0 { // the reference's "no pool" rows
					c, err := grpc.NewClient(addrs[0], grpc.WithTransportCredentials(insecure.NewCredentials()))
					if err != nil {
						t.Fatal(err)
					}
					cc, closer = c, c.Close
				} else {
					p, err := grpcpool.New(pinTarget, grpcpool.WithSize(conns), pinned(addrs...),
						grpcpool.WithConnectTimeout(10*time.Second))
					if err != nil {
						t.Fatal(err)
					}
					waitFor(t, "all connections ready", allReady(p))
					cc, closer = p, p.Close
				}
				l := runLoad(testpb.NewTestServiceClient(cc), callers, total, size, 10*time.Minute, nil).wait()
				closer()
				name := strconv.Itoa(conns)
				if conns == 0 {
					name = "none"
				}
				t.Logf("%-6s %9d %7d %9d %8.0f %6s %6d", name, l.ok.Load()+l.failed.Load(), callers,
					l.elapsed.Milliseconds(), float64(l.ok.Load())/l.elapsed.Seconds(), sizeName(size), l.failed.Load())
				if l.failed.Load() != 0 {
					t.Errorf("%d calls failed; first: %v", l.failed.Load(), l.firstErr)
				}
			}
		}
	}
}

func sizeName(n int) string {
	if n >= 1024 {
		return fmt.Sprintf("%dKB", n/1024)
	}
	return fmt.Sprintf("%dB", n)
}

// TestReferenceRollingRestart is the reference's stability test: 300
// callers with 4 KB messages while each of 3 servers in turn stops
// gracefully and comes back on its port, with fixed pools of 3 and 18
// connections and with scale-out (desired 20 streams per connection, as
// the reference) from 3, 6 and 12. No call may fail.
func TestReferenceRollingRestart(t *testing.T) {
	perCaller := loadPerCaller(t)
	const callers, size = 300, 4096
	cases := []struct {
		conns int
		scale bool
	}{{3, false}, {18, false}, {3, true}, {6, true}, {12, true}}
	t.Logf("%-6s %9s %7s %9s %6s %6s %s", "conns", "requests", "callers", "time(ms)", "errors", "size", "scale-out(>20)")
	for _, c := range cases {
		servers := make([]*server, 3)
		addrs := make([]string, 3)
		for i := range servers {
			servers[i] = startServer(t, "127.0.0.1:0")
			addrs[i] = servers[i].addr
		}
		opts := []grpcpool.Option{grpcpool.WithSize(c.conns), pinned(addrs...), grpcpool.WithConnectTimeout(10 * time.Second)}
		if c.scale {
			opts = append(opts, grpcpool.WithScaleOut(grpcpool.ScaleConfig{Period: 100 * time.Millisecond, DesiredMaxStreams: 20}))
		}
		p, err := grpcpool.New(pinTarget, opts...)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "all connections ready", allReady(p))
		stop := make(chan struct{})
		// The traffic goes on until the restarts are over and at least
		// perCaller calls per caller were made (bounded at 100 times that).
		want := perCaller * callers
		l := runLoad(testpb.NewTestServiceClient(p), callers, 100*want, size, 5*time.Minute, stop)
		served := func() int64 { return l.ok.Load() }
		progress := func(n int64) {
			target := served() + n
			waitFor(t, "calls to go on", func() bool { return served() >= target })
		}
		progress(int64(callers))
		for i, s := range servers {
			s.srv.GracefulStop()
			progress(int64(callers)) // served by the other two
			servers[i] = startServer(t, s.addr)
			waitFor(t, "the restarted server's connections to be ready", func() bool {
				return countState(p, connectivity.Ready) == p.State().Size
			})
			progress(int64(callers))
		}
		if rest := want - served(); rest > 0 {
			progress(rest)
		}
		close(stop)
		l.wait()
		size0 := p.State().Size
		p.Close()
		scale := "off"
		if c.scale {
			scale = fmt.Sprintf("%d-->%d", c.conns, size0)
		}
		t.Logf("%-6d %9d %7d %9d %6d %6s %s", c.conns, l.ok.Load()+l.failed.Load(), callers, l.elapsed.Milliseconds(), l.failed.Load(), sizeName(size), scale)
		if l.failed.Load() != 0 {
			t.Errorf("conns %d scale %v: %d of %d calls failed; first: %v", c.conns, c.scale, l.failed.Load(), l.ok.Load()+l.failed.Load(), l.firstErr)
		}
	}
}
