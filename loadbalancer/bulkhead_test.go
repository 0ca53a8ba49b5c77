package loadbalancer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/limit"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// gatedHosts is a factory whose endpoints hold every call until the test
// opens the gate, counting the calls that reached each host.
type gatedHosts struct {
	mu      sync.Mutex
	gate    chan struct{}
	reached map[string]int
	running map[string]int
}

func newGatedHosts() *gatedHosts {
	return &gatedHosts{gate: make(chan struct{}), reached: map[string]int{}, running: map[string]int{}}
}

func (g *gatedHosts) factory(addr string) (endpoint.Endpoint, io.Closer, error) {
	return func(ctx context.Context, _ any) (any, error) {
		g.mu.Lock()
		g.reached[addr]++
		g.running[addr]++
		gate := g.gate
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			g.running[addr]--
			g.mu.Unlock()
		}()
		select {
		case <-gate:
			return addr, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}, nil, nil
}

func (g *gatedHosts) open() {
	g.mu.Lock()
	close(g.gate)
	g.gate = make(chan struct{})
	g.mu.Unlock()
}

func (g *gatedHosts) counts(addr string) (reached, running int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reached[addr], g.running[addr]
}

func bulkheadBalancer(t *testing.T, g *gatedHosts, opt loadbalancer.Option, addrs ...string) *loadbalancer.Balancer {
	t.Helper()
	pub, err := static.NewAddresses(addrs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.Stop)
	b, err := loadbalancer.New(pub, g.factory, roundRobin, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// callAsync calls the balancer's next endpoint in a goroutine.
func callAsync(ctx context.Context, b *loadbalancer.Balancer) <-chan error {
	out := make(chan error, 1)
	ep, err := b.Endpoint()
	if err != nil {
		out <- err
		return out
	}
	go func() {
		_, err := ep(ctx, nil)
		out <- err
	}()
	return out
}

func hostStatus(b *loadbalancer.Balancer, addr string) strategy.HostStats {
	for _, h := range b.Status().Hosts {
		if h.Address == addr {
			return h
		}
	}
	return strategy.HostStats{}
}

func TestHostConcurrencyRejectsBeyondLimit(t *testing.T) {
	g := newGatedHosts()
	b := bulkheadBalancer(t, g, loadbalancer.WithHostConcurrency(2, 0), "h1", "h2")

	// Round robin: four calls, two on each host, all held.
	var held []<-chan error
	for range 4 {
		held = append(held, callAsync(context.Background(), b))
	}
	eventually(t, "two calls running on each host", func() bool {
		_, r1 := g.counts("h1")
		_, r2 := g.counts("h2")
		return r1 == 2 && r2 == 2
	})

	// A fifth call goes to a full host.
	err := <-callAsync(context.Background(), b)
	if !errors.Is(err, loadbalancer.ErrHostSaturated) {
		t.Fatalf("got %v, want ErrHostSaturated", err)
	}
	full := "h1"
	if strings.HasSuffix(err.Error(), "h2") {
		full = "h2"
	}
	if reached, _ := g.counts(full); reached != 2 {
		t.Fatalf("the rejected call reached %s (%d calls)", full, reached)
	}
	// Documented choice: a rejection counts against the host.
	if h := hostStatus(b, full); h.Failures != 1 {
		t.Fatalf("%s status %+v, want the rejection counted as a failure", full, h)
	}

	g.open()
	for _, c := range held {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	// The slots are free again: two calls per host get through.
	held = held[:0]
	for range 4 {
		held = append(held, callAsync(context.Background(), b))
	}
	eventually(t, "two calls running on each host again", func() bool {
		_, r1 := g.counts("h1")
		_, r2 := g.counts("h2")
		return r1 == 2 && r2 == 2
	})
	g.open()
	for _, c := range held {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
}

func TestHostConcurrencyWaitsForASlot(t *testing.T) {
	g := newGatedHosts()
	b := bulkheadBalancer(t, g, loadbalancer.WithHostConcurrency(1, time.Minute), "h1")

	first := callAsync(context.Background(), b)
	eventually(t, "the first call to run", func() bool { _, r := g.counts("h1"); return r == 1 })
	second := callAsync(context.Background(), b)
	// The second waits outside the host until the first ends.
	eventually(t, "the second call to wait", func() bool { return hostStatus(b, "h1").InFlight == 2 })
	if reached, _ := g.counts("h1"); reached != 1 {
		t.Fatalf("%d calls reached the host, want 1", reached)
	}
	g.open()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second call to run", func() bool { _, r := g.counts("h1"); return r == 1 })
	g.open()
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}

func TestHostConcurrencyWaitEnds(t *testing.T) {
	g := newGatedHosts()
	b := bulkheadBalancer(t, g, loadbalancer.WithHostConcurrency(1, 20*time.Millisecond), "h1")
	held := callAsync(context.Background(), b)
	eventually(t, "the first call to run", func() bool { _, r := g.counts("h1"); return r == 1 })

	if err := <-callAsync(context.Background(), b); !errors.Is(err, loadbalancer.ErrHostSaturated) {
		t.Fatalf("got %v, want ErrHostSaturated after the wait", err)
	}

	// A caller that gives up while waiting gets its own error, which is
	// not held against the host.
	before := hostStatus(b, "h1").Failures
	ctx, cancel := context.WithCancel(context.Background())
	b2 := bulkheadBalancer(t, g, loadbalancer.WithHostConcurrency(1, time.Minute), "h1")
	held2 := callAsync(context.Background(), b2)
	eventually(t, "the call on the second balancer to run", func() bool { _, r := g.counts("h1"); return r == 2 })
	waiting := callAsync(ctx, b2)
	eventually(t, "the caller to wait", func() bool { return hostStatus(b2, "h1").InFlight == 2 })
	cancel()
	if err := <-waiting; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if h := hostStatus(b2, "h1"); h.Failures != 0 {
		t.Fatalf("the caller's cancellation was held against the host: %+v", h)
	}
	g.open()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if err := <-held2; err != nil {
		t.Fatal(err)
	}
	if got := hostStatus(b, "h1").Failures; got != before {
		t.Fatalf("failures changed from %d to %d", before, got)
	}
}

func TestBulkheadWithRuntimeTargets(t *testing.T) {
	pool, err := limit.New[string](limit.WithDefaultTarget(1))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	_ = pool.Set("big", 3)
	g := newGatedHosts()
	b := bulkheadBalancer(t, g, loadbalancer.WithBulkhead(pool, 0), "big")

	var held []<-chan error
	for range 3 {
		held = append(held, callAsync(context.Background(), b))
	}
	eventually(t, "three calls running", func() bool { _, r := g.counts("big"); return r == 3 })
	if err := <-callAsync(context.Background(), b); !errors.Is(err, loadbalancer.ErrHostSaturated) {
		t.Fatalf("fourth call: %v", err)
	}
	_ = pool.Set("big", 4) // raised at runtime
	held = append(held, callAsync(context.Background(), b))
	eventually(t, "four calls running", func() bool { _, r := g.counts("big"); return r == 4 })
	if c := pool.Get("big"); c.Active != 4 {
		t.Fatalf("lease counts %+v", c)
	}
	g.open()
	for _, c := range held {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}

	_ = pool.Close()
	if err := <-callAsync(context.Background(), b); !errors.Is(err, limit.ErrClosed) {
		t.Fatalf("after the limiter closed: %v", err)
	}
}

func TestBulkheadRejectsBadInput(t *testing.T) {
	pub, _ := static.NewAddresses("h1")
	defer pub.Stop()
	for name, opt := range map[string]loadbalancer.Option{
		"zero limit":       loadbalancer.WithHostConcurrency(0, 0),
		"negative wait":    loadbalancer.WithHostConcurrency(1, -time.Second),
		"nil pool":         loadbalancer.WithBulkhead(nil, 0),
		"pool, negative w": loadbalancer.WithBulkhead(&limit.Limiter[string]{}, -1),
	} {
		b, err := loadbalancer.New(pub, newGatedHosts().factory, roundRobin, opt)
		if !errors.Is(err, loadbalancer.ErrInvalidArgument) {
			if b != nil {
				_ = b.Close()
			}
			t.Errorf("%s: got %v, want ErrInvalidArgument", name, err)
		}
	}
}

// A per-host limit of one call under way: a second call to a busy host
// fails at once instead of piling onto it.
func ExampleWithHostConcurrency() {
	pub, _ := static.NewAddresses("127.0.0.1:8080") // only a name here: nothing is dialled
	defer pub.Stop()
	release := make(chan struct{})
	factory := func(addr string) (endpoint.Endpoint, io.Closer, error) {
		return func(ctx context.Context, _ any) (any, error) {
			<-release
			return "ok from " + addr, nil
		}, nil, nil
	}
	b, _ := loadbalancer.New(pub, factory, roundRobin, loadbalancer.WithHostConcurrency(1, 0))
	defer b.Close()

	ep, _ := b.Endpoint()
	first := make(chan any)
	go func() { resp, _ := ep(context.Background(), nil); first <- resp }()
	for b.Status().Hosts[0].InFlight == 0 { // wait until the first call holds the slot
		time.Sleep(time.Millisecond)
	}
	_, err := ep(context.Background(), nil)
	fmt.Println(err, errors.Is(err, loadbalancer.ErrHostSaturated))
	close(release)
	fmt.Println(<-first)
	// Output:
	// loadbalancer: host concurrency limit reached: 127.0.0.1:8080 true
	// ok from 127.0.0.1:8080
}
