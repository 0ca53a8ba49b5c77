package loadbalancer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// These tests drive the balancer's private cache directly with events, so
// that each update is applied before the test looks at the result.

// recorder is a factory that counts what it made and closed.
type recorder struct {
	mu      sync.Mutex
	made    map[string]int
	closed  map[string]int
	failing map[string]bool
	slow    chan struct{} // if set, closers wait on it
}

func newRecorder() *recorder {
	return &recorder{made: map[string]int{}, closed: map[string]int{}, failing: map[string]bool{}}
}

func (r *recorder) factory(instance string) (endpoint.Endpoint, io.Closer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failing[instance] {
		return nil, nil, fmt.Errorf("cannot dial %s", instance)
	}
	r.made[instance]++
	ep := func(context.Context, any) (any, error) { return instance, nil }
	return ep, closer(func() error {
		if r.slow != nil {
			<-r.slow
		}
		r.mu.Lock()
		r.closed[instance]++
		r.mu.Unlock()
		return nil
	}), nil
}

func (r *recorder) counts(m map[string]int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprint(m)
}

type closer func() error

func (f closer) Close() error { return f() }

func ev(addrs ...string) publisher.Event {
	return publisher.Event{Instances: publisher.FromAddresses(addrs...)}
}

// newCacheBalancer returns a balancer whose publisher never publishes, for
// tests that feed its cache by hand.
func newCacheBalancer(t *testing.T, f Factory, opts ...Option) *Balancer {
	t.Helper()
	p, err := static.NewAddresses()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	b, err := New(p, f, append([]Option{WithStrategy(strategy.RoundRobin{})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// live lists the host set's members, checking each against the view and
// its endpoint (the recorder's endpoints answer their instance's address):
// a mismatch shows in the list.
func live(b *Balancer) string {
	hosts := b.view.Load().hosts
	var addrs []string
	for i, m := range b.set.Members() {
		addr := m.Host.Address()
		if i >= len(hosts) || hosts[i] != m.Host {
			addr += "(not in the view)"
		}
		if got, _ := m.Value(context.Background(), nil); got != m.Host.Address() {
			addr += fmt.Sprintf("(endpoint of %v)", got)
		}
		addrs = append(addrs, addr)
	}
	if len(hosts) != len(addrs) {
		addrs = append(addrs, fmt.Sprintf("(view has %d)", len(hosts)))
	}
	return strings.Join(addrs, ",")
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFactoryOnlyForNewAndCloseExactlyOnce(t *testing.T) {
	r := newRecorder()
	b := newCacheBalancer(t, r.factory)
	b.cache.update(ev("a", "b", "c"))
	b.cache.update(ev("a", "b", "c"))
	b.cache.update(ev("c", "b", "a")) // another order, same set
	b.cache.update(ev("b", "c", "d"))
	if got := r.counts(r.made); got != "map[a:1 b:1 c:1 d:1]" {
		t.Fatalf("factory calls %s", got)
	}
	waitFor(t, "a closed", func() bool { return r.counts(r.closed) == "map[a:1]" })
	if got := live(b); got != "b,c,d" {
		t.Fatalf("live %s", got)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := r.counts(r.closed); got != "map[a:1 b:1 c:1 d:1]" {
		t.Fatalf("closes after Close %s, want every endpoint exactly once", got)
	}
	if v := b.view.Load(); len(v.hosts) != 0 || !errors.Is(v.err, ErrClosed) {
		t.Fatalf("view after Close: %+v", v)
	}
	b.cache.update(ev("e"))
	if got := r.counts(r.made); strings.Contains(got, "e:") {
		t.Fatal("an update after Close called the factory")
	}
}

// A closer that takes its time must not hold up the next discovery update:
// closers run on their own goroutine.
func TestSlowCloserDoesNotDelayUpdates(t *testing.T) {
	r := newRecorder()
	r.slow = make(chan struct{})
	b := newCacheBalancer(t, r.factory)
	b.cache.update(ev("a", "b"))
	done := make(chan struct{})
	go func() {
		b.cache.update(ev("b")) // a's closer blocks
		b.cache.update(ev("b", "c"))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("updates waited for a slow closer")
	}
	if got := live(b); got != "b,c" {
		t.Fatalf("live %s", got)
	}
	if got := r.counts(r.closed); got != "map[]" {
		t.Fatalf("closed %s before the closer was released", got)
	}
	close(r.slow)
	waitFor(t, "a closed", func() bool { return r.counts(r.closed) == "map[a:1]" })
}

func TestFactoryFailureIsLoggedAndRetried(t *testing.T) {
	r := newRecorder()
	r.failing["b"] = true
	var buf syncBuffer
	b := newCacheBalancer(t, r.factory, WithLogger(log.NewLogfmtLogger(&buf)))
	b.cache.update(ev("a", "b"))
	if got := live(b); got != "a" {
		t.Fatalf("live %s, want a only", got)
	}
	if !strings.Contains(buf.String(), "cannot dial b") {
		t.Fatalf("factory failure not logged: %q", buf.String())
	}
	r.mu.Lock()
	r.failing["b"] = false
	r.mu.Unlock()
	b.cache.update(ev("a", "b")) // the same set: b is tried again
	if got := live(b); got != "a,b" {
		t.Fatalf("live %s after retry, want a,b", got)
	}
}

func TestNilEndpointOrPanicFromFactoryIsAFailure(t *testing.T) {
	var buf syncBuffer
	b := newCacheBalancer(t, func(addr string) (endpoint.Endpoint, io.Closer, error) {
		if addr == "boom" {
			panic("factory bug")
		}
		return nil, nil, nil
	}, WithLogger(log.NewLogfmtLogger(&buf)))
	b.cache.update(ev("a", "boom"))
	if got := live(b); got != "" {
		t.Fatalf("live %q, want nothing", got)
	}
	if !strings.Contains(buf.String(), "factory panicked: factory bug") || !strings.Contains(buf.String(), "nil endpoint") {
		t.Fatalf("log %q", buf.String())
	}
}

func TestDiscoveryErrorKeepsLastSetByDefault(t *testing.T) {
	r := newRecorder()
	b := newCacheBalancer(t, r.factory)
	b.cache.update(ev("a", "b"))
	boom := errors.New("consul down")
	b.cache.update(publisher.Event{Err: boom})
	if v := b.view.Load(); live(b) != "a,b" || !errors.Is(v.err, boom) {
		t.Fatalf("after error: live %s err %v", live(b), v.err)
	}
	if _, err := b.Endpoint(); err != nil {
		t.Fatalf("Endpoint during a discovery error: %v", err)
	}
	b.cache.update(ev("a", "b"))
	if v := b.view.Load(); v.err != nil || live(b) != "a,b" {
		t.Fatalf("after recovery: %+v", v)
	}
	if got := r.counts(r.closed); got != "map[]" {
		t.Fatalf("closes %s, want none", got)
	}
}

func TestInvalidateOnErrorImmediately(t *testing.T) {
	r := newRecorder()
	b := newCacheBalancer(t, r.factory, WithInvalidateOnError(0))
	b.cache.update(ev("a"))
	boom := errors.New("zk down")
	b.cache.update(publisher.Event{Err: boom})
	_, err := b.Endpoint()
	if live(b) != "" || !errors.Is(err, ErrInvalidated) || !errors.Is(err, boom) || !errors.Is(err, ErrNoEndpoints) {
		t.Fatalf("live %q, Endpoint err %v", live(b), err)
	}
	waitFor(t, "a closed", func() bool { return r.counts(r.closed) == "map[a:1]" })
	b.cache.update(ev("a"))
	if live(b) != "a" {
		t.Fatal("did not recover")
	}
}

func TestInvalidateOnErrorAfterTimeout(t *testing.T) {
	r := newRecorder()
	b := newCacheBalancer(t, r.factory, WithInvalidateOnError(50*time.Millisecond))
	b.cache.update(ev("a"))
	b.cache.update(publisher.Event{Err: errors.New("down")})
	if live(b) != "a" {
		t.Fatal("invalidated before the timeout")
	}
	waitFor(t, "invalidation", func() bool { return live(b) == "" })
	if err := b.view.Load().err; !errors.Is(err, ErrInvalidated) {
		t.Fatalf("err %v", err)
	}
}

func TestRecoveryBeforeTimeoutDefusesInvalidation(t *testing.T) {
	r := newRecorder()
	b := newCacheBalancer(t, r.factory, WithInvalidateOnError(30*time.Millisecond))
	b.cache.update(ev("a"))
	b.cache.update(publisher.Event{Err: errors.New("blip")})
	b.cache.update(ev("a"))
	time.Sleep(100 * time.Millisecond)
	if v := b.view.Load(); live(b) != "a" || v.err != nil {
		t.Fatalf("invalidated after recovery: %+v", v)
	}
}

func TestChangedWeightKeepsEndpointAndStats(t *testing.T) {
	r := newRecorder()
	b := newCacheBalancer(t, r.factory)
	b.cache.update(ev("a"))
	before := b.view.Load()
	b.cache.update(publisher.Event{Instances: []publisher.Instance{{Address: "a", Weight: 7, Priority: 2, Metadata: map[string]string{"zone": "b"}}}})
	after := b.view.Load()
	if after.hosts[0] != before.hosts[0] {
		t.Fatal("weight change replaced the statistics")
	}
	if st := after.hosts[0].Stats(); st.Weight != 7 || st.Priority != 2 || st.Metadata["zone"] != "b" {
		t.Fatalf("weight, priority or metadata not updated: %+v", st)
	}
	if got := r.counts(r.made); got != "map[a:1]" {
		t.Fatalf("factory calls %s", got)
	}
	if after.version <= before.version {
		t.Fatal("version did not increase")
	}
}

func TestDuplicateAddressesFirstWins(t *testing.T) {
	b := newCacheBalancer(t, newRecorder().factory)
	b.cache.update(publisher.Event{Instances: []publisher.Instance{{Address: "a", Weight: 2}, {Address: "a", Weight: 9}}})
	if v := b.view.Load(); len(v.hosts) != 1 || v.hosts[0].Weight() != 2 {
		t.Fatalf("hosts %+v", v.hosts)
	}
}

func TestCloserErrorsAreReturnedByClose(t *testing.T) {
	var buf syncBuffer
	b := newCacheBalancer(t, func(addr string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) { return nil, nil },
			closer(func() error { return errors.New("close " + addr + " failed") }), nil
	}, WithLogger(log.NewLogfmtLogger(&buf)))
	b.cache.update(ev("a", "b"))
	b.cache.update(ev("b")) // a's closer fails in the background: logged
	waitFor(t, "a's closer logged", func() bool { return strings.Contains(buf.String(), "close a failed") })
	err := b.Close()
	if err == nil || !strings.Contains(err.Error(), "close b failed") || strings.Contains(err.Error(), "close a failed") {
		t.Fatalf("Close = %v, want b's closer error only", err)
	}
}

// A go-kit client's factory, declared as go-kit's own type, goes straight
// into New: Factory is an alias of sd.Factory.
func TestGoKitFactoryCompilesUnchanged(t *testing.T) {
	var factory sd.Factory = newRecorder().factory
	b := newCacheBalancer(t, factory)
	b.cache.update(ev("a"))
	if live(b) != "a" {
		t.Fatal("go-kit factory not used")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The update benchmark applies, alternately, two sets of 1000 instances
// that differ in one instance, so every update removes one endpoint and
// creates one. It reports factory calls per update, which must be exactly 1.
//
//	go test -run '^$' -bench Update -benchmem -count 10 ./loadbalancer/ > update.txt
//	benchstat -col /impl update.txt
func BenchmarkUpdate1000OneChanged(b *testing.B) {
	as, bs := twoSets(1000)
	sets := [2]publisher.Event{
		{Instances: publisher.FromAddresses(as...)},
		{Instances: publisher.FromAddresses(bs...)},
	}
	b.Run("impl=gokit", func(b *testing.B) {
		var calls atomic.Int64
		inst := &chanInstancer{}
		e := sd.NewEndpointer(inst, countingFactory(&calls), log.NewNopLogger())
		defer e.Close()
		kit := [2]sd.Event{{Instances: as}, {Instances: bs}}
		inst.ch <- kit[0]
		inst.ch <- kit[0] // returns once the first update is done
		calls.Store(0)
		b.ReportAllocs()
		b.ResetTimer()
		// go-kit's endpointer applies events on its own goroutine from an
		// unbuffered channel, so each send returns only when the previous
		// update has finished: the loop measures update cost plus one
		// channel hand-off.
		for i := range b.N {
			inst.ch <- kit[(i+1)%2]
		}
		inst.ch <- kit[(b.N+1)%2]
		b.StopTimer()
		b.ReportMetric(float64(calls.Load())/float64(b.N+1), "factory-calls/op")
	})
	b.Run("impl=lbkit", func(b *testing.B) {
		var calls atomic.Int64
		p, _ := static.NewAddresses()
		defer p.Stop()
		bal, err := New(p, countingFactory(&calls))
		if err != nil {
			b.Fatal(err)
		}
		defer bal.Close()
		bal.cache.update(sets[0])
		calls.Store(0)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			bal.cache.update(sets[(i+1)%2])
		}
		b.StopTimer()
		b.ReportMetric(float64(calls.Load())/float64(b.N), "factory-calls/op")
	})
}

func countingFactory(calls *atomic.Int64) sd.Factory {
	ep := endpoint.Endpoint(func(context.Context, any) (any, error) { return nil, nil })
	return func(string) (endpoint.Endpoint, io.Closer, error) {
		calls.Add(1)
		return ep, nil, nil
	}
}

func twoSets(n int) (a, b []string) {
	a = make([]string, n)
	for i := range a {
		a[i] = fmt.Sprintf("10.0.%d.%d:8080", i/250, i%250)
	}
	b = append([]string(nil), a...)
	b[n/2] = "10.9.9.9:8080"
	return a, b
}

// chanInstancer hands the test the channel go-kit's endpointer registers.
type chanInstancer struct{ ch chan<- sd.Event }

func (c *chanInstancer) Register(ch chan<- sd.Event) { c.ch = ch }
func (c *chanInstancer) Deregister(chan<- sd.Event)  {}
func (c *chanInstancer) Stop()                       {}

// While discovery keeps failing, the error reported is the first of the
// spell, as in go-kit's endpoint cache: a second error neither replaces it
// before the invalidation timeout nor strips ErrInvalidated after it. The
// next spell, after a recovery, reports its own first error.
func TestSecondDiscoveryErrorKeepsTheFirst(t *testing.T) {
	first, second, third := errors.New("first: consul down"), errors.New("second: still down"), errors.New("third")
	check := func(t *testing.T, b *Balancer, when string, invalidated bool) {
		t.Helper()
		err := b.Status().DiscoveryErr
		if !errors.Is(err, first) || errors.Is(err, second) || errors.Is(err, third) || errors.Is(err, ErrInvalidated) != invalidated {
			t.Fatalf("%s: discovery error %v; want the first (invalidated %v)", when, err, invalidated)
		}
		if !invalidated {
			return
		}
		if _, err := b.Endpoint(); !errors.Is(err, ErrNoEndpoints) || !errors.Is(err, ErrInvalidated) || !errors.Is(err, first) || errors.Is(err, second) {
			t.Fatalf("%s: Endpoint error %v", when, err)
		}
	}
	t.Run("default", func(t *testing.T) {
		b := newCacheBalancer(t, newRecorder().factory)
		b.cache.update(ev("a"))
		b.cache.update(publisher.Event{Err: first})
		b.cache.update(publisher.Event{Err: second})
		check(t, b, "second error", false)
		if live(b) != "a" {
			t.Fatal("the last set was dropped")
		}
		b.cache.update(ev("a"))
		b.cache.update(publisher.Event{Err: third})
		if err := b.Status().DiscoveryErr; err != third {
			t.Fatalf("a new spell reports %v, want its own first error", err)
		}
	})
	t.Run("invalidate after timeout", func(t *testing.T) {
		b := newCacheBalancer(t, newRecorder().factory, WithInvalidateOnError(100*time.Millisecond))
		b.cache.update(ev("a"))
		b.cache.update(publisher.Event{Err: first})
		b.cache.update(publisher.Event{Err: second})
		check(t, b, "second error before the timeout", false)
		waitFor(t, "invalidation", func() bool { return live(b) == "" })
		check(t, b, "after the timeout", true)
		b.cache.update(publisher.Event{Err: third})
		check(t, b, "third error after the timeout", true)
	})
	t.Run("invalidate at once", func(t *testing.T) {
		b := newCacheBalancer(t, newRecorder().factory, WithInvalidateOnError(0))
		b.cache.update(ev("a"))
		b.cache.update(publisher.Event{Err: first})
		b.cache.update(publisher.Event{Err: second})
		check(t, b, "second error", true)
	})
}

// When no instance is usable because every factory call failed, Endpoint
// says how many instances discovery knows and why none is usable, rather
// than a bare "no endpoints available"; Status lists the failures and
// counts them.
func TestFactoryFailuresAreInTheErrorAndStatus(t *testing.T) {
	var buf syncBuffer
	fail := map[string]bool{"a": true, "b": true, "c": true}
	var mu sync.Mutex
	b := newCacheBalancer(t, func(addr string) (endpoint.Endpoint, io.Closer, error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case !fail[addr]:
			return func(context.Context, any) (any, error) { return addr, nil }, nil, nil
		case addr == "a":
			return nil, nil, fmt.Errorf("cannot dial %s", addr)
		case addr == "b":
			return nil, nil, nil
		}
		panic("factory bug")
	}, WithLogger(log.NewLogfmtLogger(&buf)))
	b.cache.update(ev("a", "b", "c"))
	_, err := b.Endpoint()
	if !errors.Is(err, ErrNoEndpoints) {
		t.Fatalf("Endpoint err %v, want ErrNoEndpoints", err)
	}
	for _, want := range []string{"3 instances", "cannot dial a", "nil endpoint", "factory panicked: factory bug"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Endpoint error %q does not say %q", err, want)
		}
	}
	for _, want := range []string{"cannot dial a", "nil endpoint", "factory bug"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log %q lacks %q", buf.String(), want)
		}
	}
	if !errors.Is(err, ErrNoEndpoints) || !strings.Contains(err.Error(), "a: cannot dial a") {
		t.Fatalf("Endpoint error %v does not wrap the first failure", err)
	}
	checkStatus(t, b, 3, "a: cannot dial a", "b: "+ErrNilEndpoint.Error(), "c: factory panicked: factory bug")
	if st := b.Status(); !errors.Is(st.FactoryFailures[1].Err, ErrNilEndpoint) {
		t.Fatalf("nil endpoint failure %v", st.FactoryFailures[1].Err)
	}

	// b recovers: the set is usable again, and only a and c are listed.
	mu.Lock()
	fail["b"] = false
	mu.Unlock()
	b.cache.update(ev("a", "b", "c"))
	if e, err := b.Endpoint(); err != nil || e == nil {
		t.Fatalf("Endpoint with b usable: %v", err)
	}
	checkStatus(t, b, 5, "a: cannot dial a", "c: factory panicked: factory bug")
	b.cache.update(ev("b"))
	checkStatus(t, b, 5)
}

// checkStatus checks the factory failures Status reports: the count since
// New and the instances failing now, as "address: error", in order.
func checkStatus(t *testing.T, b *Balancer, count uint64, failing ...string) {
	t.Helper()
	st := b.Status()
	var got []string
	for _, f := range st.FactoryFailures {
		got = append(got, fmt.Sprintf("%s: %v", f.Address, f.Err))
	}
	if st.FactoryErrors != count || strings.Join(got, "|") != strings.Join(failing, "|") {
		t.Fatalf("Status: %d factory errors, failing %q; want %d, %q", st.FactoryErrors, got, count, failing)
	}
}

// A failed factory call is retried without waiting for discovery to
// publish again: a static publisher never does, nor does a watch on a
// stable set, and the instance would stay unusable for good.
func TestFailedFactoryIsRetriedWithoutANewEvent(t *testing.T) {
	p, err := static.NewAddresses("a", "b")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	var calls atomic.Int64
	b, err := New(p, func(addr string) (endpoint.Endpoint, io.Closer, error) {
		if addr == "b" && calls.Add(1) <= 2 {
			return nil, nil, errors.New("cannot dial b yet")
		}
		return func(context.Context, any) (any, error) { return addr, nil }, nil, nil
	}, WithStrategy(strategy.RoundRobin{}))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := live(b); got != "a" {
		t.Fatalf("live %q at first, want a", got)
	}
	waitFor(t, "b retried until its factory succeeds", func() bool { return live(b) == "a,b" })
	if st := b.Status(); st.FactoryErrors != 2 || len(st.FactoryFailures) != 0 {
		t.Fatalf("status %+v", st)
	}
}

// Retrying failed factory calls is not a discovery success: a discovery
// error in force stays in force.
func TestFactoryRetryKeepsTheDiscoveryError(t *testing.T) {
	r := newRecorder()
	r.failing["b"] = true
	b := newCacheBalancer(t, r.factory)
	b.cache.update(ev("a", "b"))
	boom := errors.New("etcd down")
	b.cache.update(publisher.Event{Err: boom})
	r.mu.Lock()
	r.failing["b"] = false
	r.mu.Unlock()
	if b.cache.retryFailed() {
		t.Fatal("b still failing")
	}
	if st := b.Status(); live(b) != "a,b" || st.DiscoveryErr != boom || len(st.FactoryFailures) != 0 {
		t.Fatalf("live %s, status %+v", live(b), st)
	}
}

// An update reuses the live set's hosts and endpoints at positions whose
// instance did not change: every kind of change must leave each host with
// its own endpoint, in discovery order, in the host set and the view.
func TestUpdatesKeepHostsWithTheirEndpoints(t *testing.T) {
	r := newRecorder()
	b := newCacheBalancer(t, r.factory)
	steps := []struct {
		event publisher.Event
		fail  string // the instance whose factory fails from this step on
		want  string
	}{
		{event: ev("a", "b", "c", "d"), want: "a,b,c,d"},
		{event: ev("a", "x", "c", "d"), want: "a,x,c,d"},                 // one changed
		{event: ev("a", "b", "c", "d"), want: "a,b,c,d"},                 // and back
		{event: ev("d", "c", "b", "a"), want: "d,c,b,a"},                 // reordered
		{event: ev("d", "b", "a"), want: "d,b,a"},                        // one removed
		{event: ev("d", "b", "b", "a", "e"), want: "d,b,a,e"},            // a duplicate, one added
		{event: ev("f", "d", "b", "a", "e"), fail: "f", want: "d,b,a,e"}, // the first fails
		{event: ev("f", "d", "b", "a", "e"), want: "f,d,b,a,e"},          // and recovers
		{event: publisher.Event{Instances: []publisher.Instance{{Address: "f", Weight: 3}, {Address: "d"}}}, want: "f,d"},
		{event: ev(), want: ""},
		{event: ev("a", "b"), want: "a,b"},
	}
	for i, s := range steps {
		r.mu.Lock()
		clear(r.failing)
		if s.fail != "" {
			r.failing[s.fail] = true
		}
		r.mu.Unlock()
		b.cache.update(s.event)
		if got := live(b); got != s.want {
			t.Fatalf("step %d: live %s, want %s", i, got, s.want)
		}
	}
	// The factory ran only for instances not live: b three times (it left
	// at the second step and the second-last), a twice.
	if got := r.counts(r.made); got != "map[a:2 b:3 c:1 d:1 e:1 f:1 x:1]" {
		t.Fatalf("factory calls %s", got)
	}
}
