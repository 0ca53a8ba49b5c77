package static_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
)

// TestInvalidArguments checks that every argument the package refuses is
// refused with an error wrapping its ErrInvalidArgument and the publisher
// package's.
func TestInvalidArguments(t *testing.T) {
	live, err := static.NewAddresses("a:1")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Stop()
	for name, call := range map[string]func() error{
		"empty address":          func() error { _, err := static.New(publisher.Instance{}); return err },
		"negative weight":        func() error { _, err := static.New(publisher.Instance{Address: "a:1", Weight: -2}); return err },
		"duplicate address":      func() error { _, err := static.NewAddresses("a:1", "a:1"); return err },
		"empty address string":   func() error { _, err := static.NewAddresses(""); return err },
		"Replace: empty address": func() error { return live.Replace(publisher.Instance{}) },
		"Replace: duplicate":     func() error { return live.Replace(publisher.FromAddresses("b:1", "b:1")...) },
		"Fail: nil error":        func() error { return live.Fail(nil) },
	} {
		err := call()
		if !errors.Is(err, static.ErrInvalidArgument) || !errors.Is(err, publisher.ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want static.ErrInvalidArgument and publisher.ErrInvalidArgument", name, err)
		}
	}
	if got := live.Instances(); len(got) != 1 || got[0].Address != "a:1" {
		t.Errorf("a refused Replace changed the set: %v", got)
	}
}

func TestEmptyListIsAllowed(t *testing.T) {
	p, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	ev := <-p.Subscribe().C()
	if len(ev.Instances) != 0 || ev.Err != nil {
		t.Fatalf("got %+v", ev)
	}
}

func TestReplaceAndFail(t *testing.T) {
	p, err := static.NewAddresses("a:1", "b:1")
	if err != nil {
		t.Fatal(err)
	}
	s := p.Subscribe()
	if got := fmt.Sprint(publisher.Addresses((<-s.C()).Instances)); got != "[a:1 b:1]" {
		t.Fatalf("initial %s", got)
	}
	if err := p.Replace(publisher.Instance{Address: "c:1", Weight: 3}); err != nil {
		t.Fatal(err)
	}
	ev := <-s.C()
	if len(ev.Instances) != 1 || ev.Instances[0].Weight != 3 {
		t.Fatalf("after Replace %+v", ev)
	}
	if err := p.Replace(publisher.Instance{}); err == nil {
		t.Fatal("Replace accepted an invalid instance")
	}
	if err := p.Fail(nil); err == nil {
		t.Fatal("Fail(nil) accepted")
	}
	boom := errors.New("down")
	if err := p.Fail(boom); err != nil {
		t.Fatal(err)
	}
	ev = <-s.C()
	if !errors.Is(ev.Err, boom) || len(ev.Instances) != 1 {
		t.Fatalf("after Fail %+v, want error and last instances", ev)
	}
	if got := p.Instances(); len(got) != 1 || got[0].Address != "c:1" {
		t.Fatalf("Instances() = %v", got)
	}
	p.Stop()
	p.Stop()
	if _, ok := <-s.C(); ok {
		t.Fatal("subscription open after Stop")
	}
	if err := p.Replace(); !errors.Is(err, static.ErrStopped) {
		t.Fatalf("Replace after Stop: %v", err)
	}
	if err := p.Fail(boom); !errors.Is(err, static.ErrStopped) {
		t.Fatalf("Fail after Stop: %v", err)
	}
}

// TestTypedNilPublisherRefused: a nil *Publisher inside the
// publisher.Publisher interface is refused where it is handed over, not
// met later as a panic on the balancer's goroutine or a status request.
func TestTypedNilPublisherRefused(t *testing.T) {
	var p *static.Publisher
	factory := func(string) (endpoint.Endpoint, io.Closer, error) { return endpoint.Nop, nil, nil }
	if _, err := loadbalancer.New(p, factory); !errors.Is(err, loadbalancer.ErrInvalidArgument) {
		t.Errorf("loadbalancer.New(typed nil *static.Publisher) = %v, want ErrInvalidArgument", err)
	}
	if _, err := publisher.ToInstancer(p); !errors.Is(err, publisher.ErrInvalidArgument) {
		t.Errorf("publisher.ToInstancer(typed nil *static.Publisher) = %v, want ErrInvalidArgument", err)
	}
}

// TestReplaceReasonsNameTheInstance: the error says which instance and
// why, from the validator every publisher shares.
func TestReplaceReasonsNameTheInstance(t *testing.T) {
	p, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	err = p.Replace(publisher.Instance{Address: "a:1"}, publisher.Instance{Address: "b:1", Weight: -3}, publisher.Instance{Address: "a:1"})
	var ie *publisher.InvalidError
	if !errors.As(err, &ie) || ie.Dropped != 2 {
		t.Fatalf("Replace = %v, want an InvalidError with 2 instances", err)
	}
	for _, want := range []string{"b:1: negative weight -3", "duplicate address a:1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Replace = %q, want it to say %q", err, want)
		}
	}
}
