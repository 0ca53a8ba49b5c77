package endpointcache_test

import (
	"bytes"
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
	"github.com/go-kit/log"
	"go.uber.org/goleak"

	"github.com/seed41aebe0c/lbkit/endpointcache"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/strategy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a factory that counts calls and closes per instance.
type recorder struct {
	mu      sync.Mutex
	made    map[string]int
	closed  map[string]int
	failing map[string]bool
}

func newRecorder() *recorder {
	return &recorder{made: map[string]int{}, closed: map[string]int{}, failing: map[string]bool{}}
}

func (r *recorder) factory(instance string) (endpoint.Endpoint, io.Closer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failing[instance] {
		return nil, nil, errors.New("cannot dial " + instance)
	}
	r.made[instance]++
	ep := func(context.Context, any) (any, error) { return instance, nil }
	return ep, closerFunc(func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.closed[instance]++
		return nil
	}), nil
}

func (r *recorder) counts(m map[string]int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprint(m)
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func ev(addrs ...string) publisher.Event {
	return publisher.Event{Instances: publisher.FromAddresses(addrs...)}
}

func live(s *endpointcache.Snapshot) string {
	var out []string
	for _, e := range s.Entries {
		out = append(out, e.Instance.Address)
	}
	return strings.Join(out, ",")
}

func TestNewRejectsBadInput(t *testing.T) {
	if _, err := endpointcache.New(nil); !errors.Is(err, endpointcache.ErrNilFactory) {
		t.Fatalf("nil factory: %v", err)
	}
	if _, err := endpointcache.New(newRecorder().factory, endpointcache.InvalidateOnError(-time.Second)); err == nil {
		t.Fatal("negative invalidation timeout accepted")
	}
}

func TestFactoryOnlyForNewAndCloseExactlyOnce(t *testing.T) {
	r := newRecorder()
	c, err := endpointcache.New(r.factory)
	if err != nil {
		t.Fatal(err)
	}
	c.Update(ev("a", "b", "c"))
	c.Update(ev("a", "b", "c"))
	c.Update(ev("c", "b", "a")) // another order, same set
	c.Update(ev("b", "c", "d"))
	if got := r.counts(r.made); got != "map[a:1 b:1 c:1 d:1]" {
		t.Fatalf("factory calls %s", got)
	}
	if got := r.counts(r.closed); got != "map[a:1]" {
		t.Fatalf("closes %s", got)
	}
	if got := live(c.Snapshot()); got != "b,c,d" {
		t.Fatalf("live %s", got)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := r.counts(r.closed); got != "map[a:1 b:1 c:1 d:1]" {
		t.Fatalf("closes after Close %s, want every endpoint exactly once", got)
	}
	s := c.Snapshot()
	if len(s.Entries) != 0 || !errors.Is(s.Err, endpointcache.ErrClosed) {
		t.Fatalf("snapshot after Close: %+v", s)
	}
	c.Update(ev("e"))
	if got := r.counts(r.made); strings.Contains(got, "e:") {
		t.Fatal("Update after Close called the factory")
	}
}

func TestFactoryFailureIsLoggedAndRetried(t *testing.T) {
	r := newRecorder()
	r.failing["b"] = true
	var buf syncBuffer
	c, _ := endpointcache.New(r.factory, endpointcache.WithLogger(log.NewLogfmtLogger(&buf)))
	defer c.Close()
	c.Update(ev("a", "b"))
	if got := live(c.Snapshot()); got != "a" {
		t.Fatalf("live %s, want a only", got)
	}
	if !strings.Contains(buf.String(), "cannot dial b") {
		t.Fatalf("factory failure not logged: %q", buf.String())
	}
	r.mu.Lock()
	r.failing["b"] = false
	r.mu.Unlock()
	c.Update(ev("a", "b")) // the same set: b is tried again
	if got := live(c.Snapshot()); got != "a,b" {
		t.Fatalf("live %s after retry, want a,b", got)
	}
}

func TestNilEndpointFromFactoryIsAFailure(t *testing.T) {
	c, _ := endpointcache.New(func(string) (endpoint.Endpoint, io.Closer, error) { return nil, nil, nil })
	defer c.Close()
	c.Update(ev("a"))
	if n := len(c.Snapshot().Entries); n != 0 {
		t.Fatalf("nil endpoint cached: %d entries", n)
	}
}

func TestDiscoveryErrorKeepsLastSetByDefault(t *testing.T) {
	r := newRecorder()
	c, _ := endpointcache.New(r.factory)
	defer c.Close()
	c.Update(ev("a", "b"))
	boom := errors.New("consul down")
	c.Update(publisher.Event{Err: boom})
	s := c.Snapshot()
	if live(s) != "a,b" || !errors.Is(s.Err, boom) {
		t.Fatalf("after error: live %s err %v", live(s), s.Err)
	}
	c.Update(ev("a", "b"))
	if s := c.Snapshot(); s.Err != nil || live(s) != "a,b" {
		t.Fatalf("after recovery: %+v", s)
	}
	if got := r.counts(r.closed); got != "map[]" {
		t.Fatalf("closes %s, want none", got)
	}
}

func TestInvalidateOnErrorImmediately(t *testing.T) {
	r := newRecorder()
	c, _ := endpointcache.New(r.factory, endpointcache.InvalidateOnError(0))
	defer c.Close()
	c.Update(ev("a"))
	boom := errors.New("zk down")
	c.Update(publisher.Event{Err: boom})
	s := c.Snapshot()
	if len(s.Entries) != 0 || !errors.Is(s.Err, endpointcache.ErrInvalidated) || !errors.Is(s.Err, boom) {
		t.Fatalf("snapshot %+v", s)
	}
	if got := r.counts(r.closed); got != "map[a:1]" {
		t.Fatalf("closes %s", got)
	}
	c.Update(ev("a"))
	if live(c.Snapshot()) != "a" {
		t.Fatal("did not recover")
	}
}

func TestInvalidateOnErrorAfterTimeout(t *testing.T) {
	r := newRecorder()
	var updates atomic.Int32
	c, _ := endpointcache.New(r.factory, endpointcache.InvalidateOnError(50*time.Millisecond),
		endpointcache.OnUpdate(func(*endpointcache.Snapshot) { updates.Add(1) }))
	defer c.Close()
	c.Update(ev("a"))
	c.Update(publisher.Event{Err: errors.New("down")})
	if live(c.Snapshot()) != "a" {
		t.Fatal("invalidated before the timeout")
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(c.Snapshot().Entries) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("not invalidated within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !errors.Is(c.Snapshot().Err, endpointcache.ErrInvalidated) {
		t.Fatalf("err %v", c.Snapshot().Err)
	}
	if updates.Load() != 3 {
		t.Fatalf("OnUpdate called %d times, want 3", updates.Load())
	}
}

func TestRecoveryBeforeTimeoutDefusesInvalidation(t *testing.T) {
	r := newRecorder()
	c, _ := endpointcache.New(r.factory, endpointcache.InvalidateOnError(30*time.Millisecond))
	defer c.Close()
	c.Update(ev("a"))
	c.Update(publisher.Event{Err: errors.New("blip")})
	c.Update(ev("a"))
	time.Sleep(100 * time.Millisecond)
	if s := c.Snapshot(); live(s) != "a" || s.Err != nil {
		t.Fatalf("invalidated after recovery: %+v", s)
	}
}

func TestChangedWeightKeepsEndpointAndStats(t *testing.T) {
	r := newRecorder()
	c, _ := endpointcache.New(r.factory)
	defer c.Close()
	c.Update(ev("a"))
	before := c.Snapshot()
	c.Update(publisher.Event{Instances: []publisher.Instance{{Address: "a", Weight: 7}}})
	after := c.Snapshot()
	if after.Entries[0].Stats != before.Entries[0].Stats {
		t.Fatal("weight change replaced the statistics")
	}
	if after.Entries[0].Stats.Weight() != 7 || after.Entries[0].Instance.Weight != 7 {
		t.Fatal("weight not updated")
	}
	if before.Entries[0].Instance.Weight != 0 {
		t.Fatal("old snapshot was modified")
	}
	if got := r.counts(r.made); got != "map[a:1]" {
		t.Fatalf("factory calls %s", got)
	}
	if after.Version <= before.Version {
		t.Fatal("version did not increase")
	}
}

func TestDuplicateAddressesFirstWins(t *testing.T) {
	r := newRecorder()
	c, _ := endpointcache.New(r.factory)
	defer c.Close()
	c.Update(publisher.Event{Instances: []publisher.Instance{{Address: "a", Weight: 2}, {Address: "a", Weight: 9}}})
	s := c.Snapshot()
	if len(s.Entries) != 1 || s.Entries[0].Instance.Weight != 2 {
		t.Fatalf("entries %+v", s.Entries)
	}
}

func TestMiddlewareAndStatsOptions(t *testing.T) {
	r := newRecorder()
	var wrapped atomic.Int32
	mw := func(in publisher.Instance, next endpoint.Endpoint, st *strategy.Stats) endpoint.Endpoint {
		wrapped.Add(1)
		return func(ctx context.Context, req any) (any, error) {
			resp, err := next(ctx, req)
			return fmt.Sprintf("%v via %s", resp, st.Address()), err
		}
	}
	c, _ := endpointcache.New(r.factory, endpointcache.WithMiddleware(mw),
		endpointcache.WithStatsOptions(strategy.WithWindow(time.Second)))
	defer c.Close()
	c.Update(ev("a"))
	c.Update(ev("a"))
	e := c.Snapshot().Entries[0]
	resp, _ := e.Endpoint(context.Background(), nil)
	if resp != "a via a" || wrapped.Load() != 1 {
		t.Fatalf("resp %v, wrapped %d times", resp, wrapped.Load())
	}
	if e.Stats.Window() != time.Second {
		t.Fatal("stats options not applied")
	}
}

func TestConcurrentUpdatesAndReads(t *testing.T) {
	r := newRecorder()
	c, _ := endpointcache.New(r.factory)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := c.Snapshot()
				for i, e := range s.Entries {
					if s.Hosts[i] != e.Stats {
						t.Error("Hosts and Entries disagree")
						return
					}
				}
			}
		}()
	}
	for i := range 300 {
		c.Update(ev(fmt.Sprint(i%7), fmt.Sprint(i%5), "x"))
	}
	close(stop)
	wg.Wait()
	c.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for addr, n := range r.made {
		if r.closed[addr] != n {
			t.Fatalf("%s made %d times, closed %d", addr, n, r.closed[addr])
		}
	}
}

func TestCloserErrorsAreReturned(t *testing.T) {
	f := func(string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) { return nil, nil },
			closerFunc(func() error { return errors.New("close failed") }), nil
	}
	c, _ := endpointcache.New(f)
	c.Update(ev("a"))
	if err := c.Close(); err == nil || !strings.Contains(err.Error(), "close failed") {
		t.Fatalf("Close err = %v", err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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
