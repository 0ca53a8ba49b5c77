package consul_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/seed41aebe0c/lbkit/publisher"
)

// step is one scripted answer of fakeHealth.
type step struct {
	entries []*api.ServiceEntry
	index   uint64
	err     error
	// advance moves fakeHealth.clock forward before answering, as a
	// blocking query that waited would.
	advance time.Duration
}

// call is what fakeHealth saw of one query.
type call struct {
	service  string
	tags     []string
	passing  bool
	q        api.QueryOptions
	deadline time.Time
}

// fakeHealth answers queries from a script, one step per query. Past the
// end of the script it behaves like a blocking query on which nothing
// changes: it waits for the query's context, so a test's loop cannot run
// away. With forever set, the last step is repeated instead.
type fakeHealth struct {
	mu      sync.Mutex
	steps   []step
	forever bool
	calls   []call
	called  chan struct{} // receives (without blocking) after each call
	// gate, when set, holds each answer until the test sends on it, so
	// the test sees every published state.
	gate chan struct{}
	// clock, when set, is advanced by each step's advance.
	clock *fakeClock
}

func newFakeHealth(steps ...step) *fakeHealth {
	return &fakeHealth{steps: steps, called: make(chan struct{}, 1)}
}

func (f *fakeHealth) ServiceMultipleTags(service string, tags []string, passing bool, q *api.QueryOptions) ([]*api.ServiceEntry, *api.QueryMeta, error) {
	c := call{service: service, tags: slices.Clone(tags), passing: passing, q: *q}
	c.deadline, _ = q.Context().Deadline()
	f.mu.Lock()
	n := len(f.calls)
	f.calls = append(f.calls, c)
	var s step
	ok := n < len(f.steps)
	if ok {
		s = f.steps[n]
	} else if f.forever && len(f.steps) > 0 {
		s, ok = f.steps[len(f.steps)-1], true
	}
	f.mu.Unlock()
	select {
	case f.called <- struct{}{}:
	default:
	}
	if ok && f.gate != nil {
		select {
		case <-f.gate:
		case <-q.Context().Done():
			return nil, nil, q.Context().Err()
		}
	}
	if !ok {
		<-q.Context().Done()
		return nil, nil, q.Context().Err()
	}
	if s.advance > 0 && f.clock != nil {
		f.clock.mu.Lock()
		f.clock.now = f.clock.now.Add(s.advance)
		f.clock.mu.Unlock()
	}
	if s.err != nil {
		return nil, nil, s.err
	}
	return s.entries, &api.QueryMeta{LastIndex: s.index}, nil
}

func (f *fakeHealth) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// waitCalls polls until the fake has seen at least n queries.
func (f *fakeHealth) waitCalls(t *testing.T, n int) []call {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if cs := f.Calls(); len(cs) >= n {
			return cs
		}
		select {
		case <-f.called:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("fake saw %d queries within 10s, want %d", len(f.Calls()), n)
		}
	}
}

// fakeClock advances only when the loop sleeps, so a test can let the loop
// run through minutes of back-off instantly. Once the time passes until, a
// sleep blocks until its context ends, which parks the loop for the test.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	until  time.Time
	sleeps []time.Duration
	parked chan struct{}
	once   sync.Once
}

func newFakeClock(horizon time.Duration) *fakeClock {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return &fakeClock{now: start, until: start.Add(horizon), parked: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(max(d, 0))
	over := c.now.After(c.until)
	c.mu.Unlock()
	if over {
		c.once.Do(func() { close(c.parked) })
		<-ctx.Done()
	}
	return ctx.Err()
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

func (c *fakeClock) waitParked(t *testing.T) {
	t.Helper()
	select {
	case <-c.parked:
	case <-time.After(10 * time.Second):
		t.Fatal("loop did not reach the fake clock's horizon within 10s")
	}
}

func entry(id, addr string, port int, status string) *api.ServiceEntry {
	return &api.ServiceEntry{
		Node: &api.Node{Node: "node-1", Address: "10.0.0.1", Datacenter: "dc1"},
		Service: &api.AgentService{
			ID: id, Service: "web", Address: addr, Port: port,
			Tags:    []string{"v1", "blue"},
			Weights: api.AgentWeights{Passing: 1, Warning: 1},
		},
		Checks: api.HealthChecks{
			{CheckID: "serfHealth", Status: api.HealthPassing},
			{CheckID: "service:" + id, Status: status},
		},
	}
}

// next returns the subscription's next event, failing after 10s.
func next(t *testing.T, s *publisher.Subscription) publisher.Event {
	t.Helper()
	select {
	case ev, ok := <-s.C():
		if !ok {
			t.Fatal("subscription closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return publisher.Event{}
}

// noEvent fails if the subscription holds an event.
func noEvent(t *testing.T, s *publisher.Subscription) {
	t.Helper()
	select {
	case ev := <-s.C():
		t.Fatalf("unexpected event %+v", ev)
	default:
	}
}
