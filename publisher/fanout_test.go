package publisher_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/metrics/generic"
	"go.uber.org/goleak"

	"github.com/seed41aebe0c/lbkit/publisher"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func addrs(ev publisher.Event) []string { return publisher.Addresses(ev.Instances) }

func TestFanoutNewSubscriberGetsCurrentState(t *testing.T) {
	var f publisher.Fanout
	f.Publish(publisher.Event{Instances: publisher.FromAddresses("b:1", "a:1")})
	s := f.Subscribe()
	defer s.Cancel()
	select {
	case ev := <-s.C():
		if got := fmt.Sprint(addrs(ev)); got != "[a:1 b:1]" {
			t.Fatalf("instances = %s, want sorted [a:1 b:1]", got)
		}
	default:
		t.Fatal("new subscriber did not get the current state at once")
	}
}

func TestFanoutEmptyHasNoState(t *testing.T) {
	var f publisher.Fanout
	s := f.Subscribe()
	defer s.Cancel()
	select {
	case ev := <-s.C():
		t.Fatalf("got %v before anything was published", ev)
	default:
	}
	if _, ok := f.Current(); ok {
		t.Fatal("Current reports a state before any Publish")
	}
}

func TestFanoutSlowSubscriberGetsLatestOnly(t *testing.T) {
	var f publisher.Fanout
	slow := f.Subscribe()
	defer slow.Cancel()
	fast := f.Subscribe()
	defer fast.Cancel()
	// The fast subscriber reads every event; the slow one reads none until
	// the end. Publish must never block on the slow one.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			f.Publish(publisher.Event{Instances: publisher.FromAddresses(fmt.Sprintf("h:%d", i))})
		}
	}()
	seen := 0
	deadline := time.After(10 * time.Second)
	for last := ""; last != "h:999"; {
		select {
		case ev := <-fast.C():
			last = ev.Instances[0].Address
			seen++
		case <-deadline:
			t.Fatal("publisher blocked or fast subscriber starved")
		}
	}
	<-done
	if seen == 0 {
		t.Fatal("fast subscriber saw nothing")
	}
	ev := <-slow.C()
	if got := ev.Instances[0].Address; got != "h:999" {
		t.Fatalf("slow subscriber got %s, want the latest state h:999", got)
	}
	select {
	case ev := <-slow.C():
		t.Fatalf("slow subscriber has a backlog: %v", ev)
	default:
	}
}

func TestFanoutErrorKeepsLastInstances(t *testing.T) {
	var f publisher.Fanout
	f.Publish(publisher.Event{Instances: publisher.FromAddresses("a:1")})
	boom := errors.New("backend down")
	f.Publish(publisher.Event{Err: boom})
	ev, _ := f.Current()
	if !errors.Is(ev.Err, boom) || len(ev.Instances) != 1 || ev.Instances[0].Address != "a:1" {
		t.Fatalf("after error event: %+v, want err and last instances", ev)
	}
}

func TestFanoutCopiesCallerSlice(t *testing.T) {
	var f publisher.Fanout
	ins := publisher.FromAddresses("a:1")
	f.Publish(publisher.Event{Instances: ins})
	ins[0].Address = "mutated:1"
	ev, _ := f.Current()
	if ev.Instances[0].Address != "a:1" {
		t.Fatal("Publish kept the caller's slice")
	}
}

func TestFanoutCloseClosesSubscriptions(t *testing.T) {
	var f publisher.Fanout
	s := f.Subscribe()
	f.Close()
	f.Close() // idempotent
	if _, ok := <-s.C(); ok {
		t.Fatal("subscription channel open after Close")
	}
	s.Cancel() // after Close: no panic
	late := f.Subscribe()
	if _, ok := <-late.C(); ok {
		t.Fatal("Subscribe after Close returned an open channel")
	}
	f.Publish(publisher.Event{}) // no panic, no effect
	if !f.Closed() {
		t.Fatal("Closed() = false after Close")
	}
}

func TestSubscriptionCancelIsIdempotent(t *testing.T) {
	var f publisher.Fanout
	s := f.Subscribe()
	s.Cancel()
	s.Cancel()
	f.Publish(publisher.Event{Instances: publisher.FromAddresses("a:1")})
	if _, ok := <-s.C(); ok {
		t.Fatal("cancelled subscription still receives")
	}
}

func TestFanoutConcurrentUse(t *testing.T) {
	var f publisher.Fanout
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 200 {
				f.Publish(publisher.Event{Instances: publisher.FromAddresses(fmt.Sprintf("h%d:%d", g, i))})
			}
		}()
		go func() {
			defer wg.Done()
			for range 50 {
				s := f.Subscribe()
				select {
				case <-s.C():
				default:
				}
				s.Cancel()
			}
		}()
	}
	wg.Wait()
}

func TestInstanceValidate(t *testing.T) {
	cases := []struct {
		in publisher.Instance
		ok bool
	}{
		{publisher.Instance{Address: "a:1"}, true},
		{publisher.Instance{Address: "a:1", Weight: 5}, true},
		{publisher.Instance{}, false},
		{publisher.Instance{Address: "a:1", Weight: -1}, false},
	}
	for _, c := range cases {
		err := c.in.Validate()
		if (err == nil) != c.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", c.in, err, c.ok)
		}
		if err != nil && !errors.Is(err, publisher.ErrInvalidArgument) {
			t.Errorf("Validate error %v does not wrap ErrInvalidArgument", err)
		}
	}
	if w := (publisher.Instance{Address: "a"}).EffectiveWeight(); w != publisher.DefaultWeight {
		t.Errorf("EffectiveWeight of zero weight = %d", w)
	}
}

func TestInstanceEqual(t *testing.T) {
	a := publisher.Instance{Address: "a:1", Weight: 2, Metadata: map[string]string{"zone": "x"}}
	b := a
	b.Metadata = map[string]string{"zone": "x"}
	if !a.Equal(b) {
		t.Fatal("equal instances compare unequal")
	}
	b.Metadata = map[string]string{"zone": "y"}
	if a.Equal(b) {
		t.Fatal("different metadata compares equal")
	}
}

func TestFanoutMetrics(t *testing.T) {
	m := &publisher.Metrics{
		Updates:   generic.NewCounter("updates"),
		Errors:    generic.NewCounter("errors"),
		Instances: generic.NewGauge("instances"),
		Invalid:   generic.NewCounter("invalid"),
	}
	var f publisher.Fanout
	f.Publish(publisher.Event{Instances: publisher.FromAddresses("a:1", "b:1")})
	f.SetMetrics(m)
	// The current state is recorded at once.
	if got := m.Instances.(*generic.Gauge).Value(); got != 2 {
		t.Fatalf("instances %v after SetMetrics, want 2", got)
	}
	f.Publish(publisher.Event{Instances: publisher.FromAddresses("a:1", "b:1", "c:1")})
	f.Publish(publisher.Event{Err: errors.New("down")})
	got := fmt.Sprint(m.Updates.(*generic.Counter).Value(), m.Errors.(*generic.Counter).Value(),
		m.Instances.(*generic.Gauge).Value(), m.Invalid.(*generic.Counter).Value())
	if want := "2 1 3 0"; got != want { // an error keeps the last instances
		t.Fatalf("updates, errors, instances, invalid = %s, want %s", got, want)
	}
	f.SetMetrics(nil)
	f.Publish(publisher.Event{})
	if got := m.Updates.(*generic.Counter).Value(); got != 2 {
		t.Fatalf("updates %v after SetMetrics(nil), want still 2", got)
	}
}
