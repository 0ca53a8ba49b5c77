package loadbalancer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	"go.uber.org/goleak"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/strategy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	random     = loadbalancer.WithStrategy(strategy.Random{})
	roundRobin = loadbalancer.WithStrategy(strategy.RoundRobin{})
)

// nilStrategy is a strategy type whose nil pointer must be refused.
type nilStrategy struct{}

func (*nilStrategy) NewPicker([]*strategy.Host) strategy.Picker { return nil }
func (*nilStrategy) Name() string                               { return "nil" }

// backends is a factory whose endpoints answer with their address, fail
// when told to, and count closes.
type backends struct {
	mu      sync.Mutex
	failing map[string]error
	closed  map[string]int
	block   chan struct{} // if set, calls wait on it or the context
}

func newBackends() *backends {
	return &backends{failing: map[string]error{}, closed: map[string]int{}}
}

func (b *backends) factory(addr string) (endpoint.Endpoint, io.Closer, error) {
	ep := func(ctx context.Context, _ any) (any, error) {
		b.mu.Lock()
		err, block := b.failing[addr], b.block
		b.mu.Unlock()
		if block != nil {
			select {
			case <-block:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if err != nil {
			return nil, err
		}
		return addr, nil
	}
	return ep, closeFunc(func() error {
		b.mu.Lock()
		b.closed[addr]++
		b.mu.Unlock()
		return nil
	}), nil
}

type closeFunc func() error

func (f closeFunc) Close() error { return f() }

func mustStatic(t *testing.T, addrs ...string) *static.Publisher {
	t.Helper()
	p, err := static.NewAddresses(addrs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

func call(t *testing.T, b lb.Balancer) (any, error) {
	t.Helper()
	e, err := b.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	return e(context.Background(), nil)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	p := mustStatic(t, "a")
	f := newBackends().factory
	for name, c := range map[string]struct {
		p    publisher.Publisher
		f    loadbalancer.Factory
		opts []loadbalancer.Option
	}{
		"nil publisher":       {nil, f, nil},
		"typed nil publisher": {(*static.Publisher)(nil), f, nil},
		"nil factory":         {p, nil, nil},
		"nil option":          {p, f, []loadbalancer.Option{nil}},
		"nil strategy":        {p, f, []loadbalancer.Option{loadbalancer.WithStrategy(nil)}},
		"typed nil strategy":  {p, f, []loadbalancer.Option{loadbalancer.WithStrategy((*nilStrategy)(nil))}},
		"invalid strategy":    {p, f, []loadbalancer.Option{loadbalancer.WithStrategy(strategy.PeakEWMA{Choices: 99})}},
		"nil scorer":          {p, f, []loadbalancer.Option{loadbalancer.WithHostOptions(strategy.WithScorer(nil))}},
		"nil host option":     {p, f, []loadbalancer.Option{loadbalancer.WithHostOptions(nil)}},
		"bad window":          {p, f, []loadbalancer.Option{loadbalancer.WithHostOptions(strategy.WithWindow(-1))}},
		"nil logger":          {p, f, []loadbalancer.Option{loadbalancer.WithLogger(nil)}},
		"negative invalidation": {p, f,
			[]loadbalancer.Option{loadbalancer.WithInvalidateOnError(-time.Second)}},
		"nil middleware":   {p, f, []loadbalancer.Option{loadbalancer.WithEndpointMiddleware(nil)}},
		"nil metrics":      {p, f, []loadbalancer.Option{loadbalancer.WithMetrics(nil)}},
		"bad concurrency":  {p, f, []loadbalancer.Option{loadbalancer.WithHostConcurrency(0, 0)}},
		"nil bulkhead":     {p, f, []loadbalancer.Option{loadbalancer.WithBulkhead(nil, 0)}},
		"negative bh wait": {p, f, []loadbalancer.Option{loadbalancer.WithHostConcurrency(1, -time.Second)}},
	} {
		b, err := loadbalancer.New(c.p, c.f, c.opts...)
		if err == nil {
			b.Close()
			t.Errorf("%s: no error", name)
			continue
		}
		if !errors.Is(err, loadbalancer.ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want one wrapping ErrInvalidArgument", name, err)
		}
	}
}

func TestRoundRobinUsableAtOnceAndFollowsPublisher(t *testing.T) {
	p := mustStatic(t, "a", "b", "c")
	be := newBackends()
	b, err := loadbalancer.New(p, be.factory, roundRobin)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	seen := map[any]int{}
	for range 30 {
		r, err := call(t, b)
		if err != nil {
			t.Fatal(err)
		}
		seen[r]++
	}
	if fmt.Sprint(seen) != "map[a:10 b:10 c:10]" {
		t.Fatalf("round robin spread %v", seen)
	}
	if err := p.Replace(publisher.FromAddresses("c", "d")...); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new set", func() bool { return len(b.Status().Hosts) == 2 })
	// Closers run off the update path, so they may finish a little later.
	eventually(t, "a and b closed once", func() bool {
		be.mu.Lock()
		defer be.mu.Unlock()
		return fmt.Sprint(be.closed) == "map[a:1 b:1]"
	})
}

func TestNoEndpoints(t *testing.T) {
	p := mustStatic(t)
	b, err := loadbalancer.New(p, newBackends().factory, random)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Endpoint(); err != loadbalancer.ErrNoEndpoints || err != lb.ErrNoEndpoints {
		t.Fatalf("err = %v, want go-kit's ErrNoEndpoints itself", err)
	}
	boom := errors.New("registry unreachable")
	p.Fail(boom)
	eventually(t, "the discovery error", func() bool { return b.Status().DiscoveryErr != nil })
	_, err = b.Endpoint()
	if !errors.Is(err, lb.ErrNoEndpoints) || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want ErrNoEndpoints wrapping the discovery error", err)
	}
}

func TestDiscoveryErrorKeepsServing(t *testing.T) {
	p := mustStatic(t, "a")
	b, _ := loadbalancer.New(p, newBackends().factory, random)
	defer b.Close()
	p.Fail(errors.New("down"))
	eventually(t, "the discovery error", func() bool { return b.Status().DiscoveryErr != nil })
	if r, err := call(t, b); err != nil || r != "a" {
		t.Fatalf("during discovery error: %v %v", r, err)
	}
	p.Stop() // the publisher goes away entirely: the last set stays
	if r, err := call(t, b); err != nil || r != "a" {
		t.Fatalf("after publisher stop: %v %v", r, err)
	}
}

func TestInvalidateOnError(t *testing.T) {
	p := mustStatic(t, "a")
	b, _ := loadbalancer.New(p, newBackends().factory, random, loadbalancer.WithInvalidateOnError(0))
	defer b.Close()
	p.Fail(errors.New("down"))
	eventually(t, "invalidation", func() bool { _, err := b.Endpoint(); return err != nil })
	if _, err := b.Endpoint(); !errors.Is(err, loadbalancer.ErrInvalidated) || !errors.Is(err, lb.ErrNoEndpoints) {
		t.Fatalf("err = %v", err)
	}
}

func TestOutcomesAreRecorded(t *testing.T) {
	p := mustStatic(t, "good", "bad")
	be := newBackends()
	be.failing["bad"] = errors.New("500")
	b, _ := loadbalancer.New(p, be.factory, roundRobin)
	defer b.Close()
	for range 20 {
		e, _ := b.Endpoint()
		e(context.Background(), nil)
	}
	for _, h := range b.Status().Hosts {
		switch h.Address {
		case "good":
			if h.Requests != 10 || h.Failures != 0 || h.Score != 1 {
				t.Errorf("good: %+v", h)
			}
		case "bad":
			if h.Requests != 10 || h.Failures != 10 || h.Score != 0 {
				t.Errorf("bad: %+v", h)
			}
		}
		if h.InFlight != 0 {
			t.Errorf("%s in flight %d", h.Address, h.InFlight)
		}
	}
}

func TestCallerCancellationIsNotHeldAgainstHost(t *testing.T) {
	p := mustStatic(t, "slow")
	be := newBackends()
	be.block = make(chan struct{})
	b, _ := loadbalancer.New(p, be.factory, random)
	defer b.Close()
	e, _ := b.Endpoint()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := e(ctx, nil); done <- err }()
	eventually(t, "the call in flight", func() bool { return b.Status().Hosts[0].InFlight == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	h := b.Status().Hosts[0]
	if h.InFlight != 0 || h.Requests != 0 || h.Failures != 0 || h.Score != 1 {
		t.Fatalf("cancelled call counted: %+v", h)
	}

	// A deadline is the host being slow: it counts.
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := e(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if h := b.Status().Hosts[0]; h.Failures != 1 || h.Score != 0 {
		t.Fatalf("timed-out call not counted: %+v", h)
	}
	close(be.block)
}

func TestCustomScorer(t *testing.T) {
	p := mustStatic(t, "a")
	var got atomic.Value
	scorer := func(err error, latency time.Duration) (float64, bool) {
		got.Store(latency)
		return 0.25, false
	}
	b, _ := loadbalancer.New(p, newBackends().factory, random, loadbalancer.WithHostOptions(strategy.WithScorer(scorer)))
	defer b.Close()
	call(t, b)
	if h := b.Status().Hosts[0]; h.Score != 0.25 || h.Failures != 0 {
		t.Fatalf("scorer not used: %+v", h)
	}
	if _, ok := got.Load().(time.Duration); !ok {
		t.Fatal("scorer not given the latency")
	}
}

func TestEndpointMiddlewareRunsInsideRecording(t *testing.T) {
	p := mustStatic(t, "a")
	var order []string
	var b *loadbalancer.Balancer
	mw := func(tag string) loadbalancer.Middleware {
		return func(in publisher.Instance, next endpoint.Endpoint) endpoint.Endpoint {
			return func(ctx context.Context, req any) (any, error) {
				order = append(order, tag+":"+in.Address)
				if b.Status().Hosts[0].InFlight != 1 {
					t.Errorf("middleware %s runs outside recording", tag)
				}
				return next(ctx, req)
			}
		}
	}
	b, _ = loadbalancer.New(p, newBackends().factory, random,
		loadbalancer.WithEndpointMiddleware(mw("outer")), loadbalancer.WithEndpointMiddleware(mw("inner")))
	defer b.Close()
	call(t, b)
	if fmt.Sprint(order) != "[outer:a inner:a]" {
		t.Fatalf("order %v", order)
	}
}

func TestCloseClosesEverythingOnceAndRefusesWork(t *testing.T) {
	p := mustStatic(t, "a", "b")
	be := newBackends()
	b, _ := loadbalancer.New(p, be.factory, roundRobin)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	be.mu.Lock()
	closed := fmt.Sprint(be.closed)
	be.mu.Unlock()
	if closed != "map[a:1 b:1]" {
		t.Fatalf("closed %s", closed)
	}
	_, err := b.Endpoint()
	if !errors.Is(err, loadbalancer.ErrClosed) || !errors.Is(err, lb.ErrNoEndpoints) {
		t.Fatalf("Endpoint after Close: %v", err)
	}
	if _, _, err := b.EndpointAvoiding(nil); !errors.Is(err, loadbalancer.ErrClosed) {
		t.Fatalf("EndpointAvoiding after Close: %v", err)
	}
	// The publisher is the caller's and keeps working.
	if err := p.Replace(publisher.FromAddresses("c")...); err != nil {
		t.Fatal(err)
	}
}

func TestEndpointAvoiding(t *testing.T) {
	p := mustStatic(t, "a", "b", "c")
	b, _ := loadbalancer.New(p, newBackends().factory, random)
	defer b.Close()
	for range 200 {
		e, addr, err := b.EndpointAvoiding([]string{"a", "c"})
		if err != nil || addr != "b" {
			t.Fatalf("got %q %v, want the one untried host b", addr, err)
		}
		if r, _ := e(context.Background(), nil); r != "b" {
			t.Fatalf("address and endpoint disagree: %v", r)
		}
	}
	_, addr, err := b.EndpointAvoiding([]string{"a", "b", "c"})
	if err != nil || addr == "" {
		t.Fatalf("all tried: %q %v, want some host", addr, err)
	}
	if n := testing.AllocsPerRun(100, func() { b.EndpointAvoiding([]string{"a"}) }); n != 0 {
		t.Fatalf("EndpointAvoiding allocates %v", n)
	}
}

func TestWeightsAreHonouredAndFollowed(t *testing.T) {
	p, _ := static.New(publisher.Instance{Address: "a", Weight: 3}, publisher.Instance{Address: "b", Weight: 1})
	defer p.Stop()
	b, _ := loadbalancer.New(p, newBackends().factory, loadbalancer.WithStrategy(strategy.RoundRobin{Weighted: true}))
	defer b.Close()
	count := func() map[any]int {
		seen := map[any]int{}
		for range 400 {
			r, _ := call(t, b)
			seen[r]++
		}
		return seen
	}
	if got := count(); got["a"] != 300 || got["b"] != 100 {
		t.Fatalf("3:1 weights gave %v", got)
	}
	before := b.Status().Version
	p.Replace(publisher.Instance{Address: "a", Weight: 1}, publisher.Instance{Address: "b", Weight: 1})
	// The host's weight changes before the picker is rebuilt: wait for the
	// new set (Version) rather than the weight alone.
	eventually(t, "the weight change", func() bool { st := b.Status(); return st.Version > before && st.Hosts[0].Weight == 1 })
	if got := count(); got["a"] != 200 {
		t.Fatalf("1:1 weights gave %v", got)
	}
}

func TestRequestPathDoesNotAllocate(t *testing.T) {
	p := mustStatic(t, "a", "b", "c")
	b, _ := loadbalancer.New(p, nopFactory, roundRobin) // its endpoint allocates nothing
	defer b.Close()
	ctx := context.Background()
	n := testing.AllocsPerRun(1000, func() {
		e, _ := b.Endpoint()
		e(ctx, nil)
	})
	if n != 0 {
		t.Fatalf("Endpoint + recorded call allocates %v times", n)
	}
	// The path a retry takes.
	tried := []string{"a"}
	n = testing.AllocsPerRun(1000, func() {
		e, _, _ := b.EndpointAvoiding(tried)
		e(ctx, nil)
	})
	if n != 0 {
		t.Fatalf("EndpointAvoiding + recorded call allocates %v times", n)
	}
}

func TestConcurrentCallsAndUpdates(t *testing.T) {
	p := mustStatic(t, "a", "b")
	b, _ := loadbalancer.New(p, newBackends().factory, random)
	defer b.Close()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var calls atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if e, err := b.Endpoint(); err == nil {
					e(context.Background(), nil)
					calls.Add(1)
				}
			}
		}()
	}
	// Keep changing the set until the callers have made a fair number of
	// calls through it (bounded in count and time).
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < 200 || (calls.Load() < 1000 && time.Now().Before(deadline)); i++ {
		p.Replace(publisher.FromAddresses(fmt.Sprint(i%3), fmt.Sprint(i%4+10))...)
		_ = b.Status()
		if i%50 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	close(stop)
	wg.Wait()
	if calls.Load() == 0 {
		t.Fatal("no calls went through")
	}
}

// A panicking endpoint is recorded as a failed call, releases its in-flight
// count, and the panic reaches the caller's goroutine.
func TestEndpointPanicIsRecordedAndPropagated(t *testing.T) {
	p := mustStatic(t, "a")
	b, _ := loadbalancer.New(p, func(string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) { panic("handler bug") }, nil, nil
	}, random)
	defer b.Close()
	e, _ := b.Endpoint()
	func() {
		defer func() {
			if r := recover(); r != "handler bug" {
				t.Fatalf("recovered %v", r)
			}
		}()
		e(context.Background(), nil)
	}()
	if h := b.Status().Hosts[0]; h.InFlight != 0 || h.Failures != 1 || h.Score != 0 {
		t.Fatalf("panic not recorded as a failure: %+v", h)
	}
}

// Instances that discovery offered but that failed validation are left out
// and named in Status, so that an operator sees why a host is missing.
func TestInvalidInstancesAreShownInStatus(t *testing.T) {
	p, err := publisher.FromInstancer(sd.FixedInstancer{"a", "", "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	b, err := loadbalancer.New(p, newBackends().factory, random)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	eventually(t, "the first set", func() bool { return len(b.Status().Hosts) == 1 })
	st := b.Status()
	var inv *publisher.InvalidError
	if st.InvalidInstances == nil || !errors.As(st.InvalidInstances, &inv) || st.DiscoveryErr != nil {
		t.Fatalf("status %+v, want the invalid instances named and no discovery error", st)
	}
	if r, err := call(t, b); err != nil || r != "a" {
		t.Fatalf("the valid instance is not served: %v %v", r, err)
	}
}
