package publisher_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/publisher"
)

// kitInstancer is a go-kit style instancer that the test drives: like
// go-kit's own, it sends synchronously from Register and Update.
type kitInstancer struct {
	regs  chan chan<- sd.Event
	state sd.Event
}

func newKitInstancer(ev sd.Event) *kitInstancer {
	k := &kitInstancer{regs: make(chan chan<- sd.Event, 1), state: ev}
	return k
}

func (k *kitInstancer) Register(ch chan<- sd.Event) {
	ch <- k.state
	k.regs <- ch
}

func (k *kitInstancer) Deregister(ch chan<- sd.Event) { <-k.regs }

func (k *kitInstancer) Stop() {}

func (k *kitInstancer) send(ev sd.Event) {
	ch := <-k.regs
	ch <- ev
	k.regs <- ch
}

func recv(t *testing.T, s *publisher.Subscription) publisher.Event {
	t.Helper()
	select {
	case ev, ok := <-s.C():
		if !ok {
			t.Fatal("subscription closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return publisher.Event{}
}

func TestFromInstancer(t *testing.T) {
	k := newKitInstancer(sd.Event{Instances: []string{"b:1", "a:1"}})
	p, err := publisher.FromInstancer(k)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Subscribe()
	if got := fmt.Sprint(addrs(recv(t, s))); got != "[a:1 b:1]" {
		t.Fatalf("first event %s", got)
	}
	k.send(sd.Event{Instances: []string{"c:1"}})
	if got := fmt.Sprint(addrs(recv(t, s))); got != "[c:1]" {
		t.Fatalf("second event %s", got)
	}
	boom := errors.New("zk down")
	k.send(sd.Event{Err: boom})
	ev := recv(t, s)
	if !errors.Is(ev.Err, boom) || fmt.Sprint(addrs(ev)) != "[c:1]" {
		t.Fatalf("error event %+v: want error with last instances", ev)
	}
	p.Stop()
	p.Stop()
	if _, ok := <-s.C(); ok {
		t.Fatal("subscription open after Stop")
	}
}

func TestFromInstancerGoKitFixed(t *testing.T) {
	p, err := publisher.FromInstancer(sd.FixedInstancer{"x:1", "y:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	s := p.Subscribe()
	if got := fmt.Sprint(addrs(recv(t, s))); got != "[x:1 y:1]" {
		t.Fatalf("got %s", got)
	}
}

// TestToInstancerFeedsGoKit runs go-kit's own endpointer and round-robin
// balancer over an lbkit publisher.
func TestToInstancerFeedsGoKit(t *testing.T) {
	var fan publisher.Fanout
	pub := &fanPublisher{&fan}
	fan.Publish(publisher.Event{Instances: publisher.FromAddresses("a:1", "b:1")})
	inst, err := publisher.ToInstancer(pub)
	if err != nil {
		t.Fatal(err)
	}
	factory := func(instance string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) { return instance, nil }, nil, nil
	}
	ep := sd.NewEndpointer(inst, factory, log.NewNopLogger())
	defer ep.Close()
	balancer := lb.NewRoundRobin(ep)
	waitFor(t, func() bool { eps, _ := ep.Endpoints(); return len(eps) == 2 })
	seen := map[any]bool{}
	for range 4 {
		e, err := balancer.Endpoint()
		if err != nil {
			t.Fatal(err)
		}
		r, _ := e(context.Background(), nil)
		seen[r] = true
	}
	if len(seen) != 2 {
		t.Fatalf("go-kit balancer saw %v", seen)
	}
	fan.Publish(publisher.Event{Instances: publisher.FromAddresses("c:1")})
	waitFor(t, func() bool { eps, _ := ep.Endpoints(); return len(eps) == 1 })
	inst.Deregister(make(chan sd.Event)) // unknown channel: no effect
	inst.Stop()
	if !fan.Closed() {
		t.Fatal("Stop did not stop the publisher")
	}
}

type fanPublisher struct{ *publisher.Fanout }

func (f *fanPublisher) Stop() { f.Close() }

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// go-kit serves a nil FixedInstancer as "no instances"; so must the adapter.
func TestFromInstancerAcceptsNilFixedInstancer(t *testing.T) {
	p, err := publisher.FromInstancer(sd.FixedInstancer(nil))
	if err != nil {
		t.Fatalf("FromInstancer(sd.FixedInstancer(nil)) = %v", err)
	}
	defer p.Stop()
	sub := p.Subscribe()
	defer sub.Cancel()
	select {
	case ev := <-sub.C():
		if len(ev.Instances) != 0 || ev.Err != nil {
			t.Fatalf("event %+v, want an empty set", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
}

// TestToInstancerRegisterSendsAtOnce: go-kit's sd.Instancer contract sends
// the current state from within Register, before it returns, as go-kit's
// own instancers do; never later from a goroutine.
func TestToInstancerRegisterSendsAtOnce(t *testing.T) {
	var fan publisher.Fanout
	fan.Publish(publisher.Event{Instances: publisher.FromAddresses("a:1", "b:1")})
	inst, err := publisher.ToInstancer(&fanPublisher{&fan})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop()
	for range 50 {
		ch := make(chan sd.Event, 1)
		inst.Register(ch)
		select {
		case ev := <-ch:
			if fmt.Sprint(ev.Instances) != "[a:1 b:1]" || ev.Err != nil {
				t.Fatalf("first event %+v", ev)
			}
		default:
			t.Fatal("Register returned before sending the current state")
		}
		inst.Deregister(ch)
	}
	// An unbuffered channel, as go-kit's endpointer registers: Register
	// blocks until the state is taken.
	ch := make(chan sd.Event)
	got := make(chan sd.Event, 1)
	go func() { got <- <-ch }()
	inst.Register(ch)
	select {
	case ev := <-got:
		if len(ev.Instances) != 2 {
			t.Fatalf("first event %+v", ev)
		}
	default:
		// The reader may not have stored it yet, but it must have taken it.
		if ev := <-got; len(ev.Instances) != 2 {
			t.Fatalf("first event %+v", ev)
		}
	}
	// Later states still follow.
	fan.Publish(publisher.Event{Instances: publisher.FromAddresses("c:1")})
	select {
	case ev := <-ch:
		if fmt.Sprint(ev.Instances) != "[c:1]" {
			t.Fatalf("later event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("later state not forwarded")
	}
	inst.Deregister(ch)
}

// TestToInstancerRegisterBeforeAnyState: a publisher with no state yet
// gives the empty state at once, as go-kit's instancer cache does, and the
// first real state later.
func TestToInstancerRegisterBeforeAnyState(t *testing.T) {
	var fan publisher.Fanout
	inst, err := publisher.ToInstancer(&fanPublisher{&fan})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop()
	ch := make(chan sd.Event, 1)
	inst.Register(ch)
	select {
	case ev := <-ch:
		if len(ev.Instances) != 0 || ev.Err != nil {
			t.Fatalf("first event %+v, want the empty state", ev)
		}
	default:
		t.Fatal("Register returned before sending the current state")
	}
	fan.Publish(publisher.Event{Instances: publisher.FromAddresses("a:1")})
	select {
	case ev := <-ch:
		if fmt.Sprint(ev.Instances) != "[a:1]" {
			t.Fatalf("later event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first real state not forwarded")
	}
}
