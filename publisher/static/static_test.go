package static_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
)

func TestNewRejectsBadInstances(t *testing.T) {
	for _, ins := range [][]publisher.Instance{
		{{Address: ""}},
		{{Address: "a:1", Weight: -2}},
		{{Address: "a:1"}, {Address: "a:1"}},
	} {
		if _, err := static.New(ins...); !errors.Is(err, publisher.ErrInvalidInstance) {
			t.Errorf("New(%v) err = %v, want ErrInvalidInstance", ins, err)
		}
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

func ExamplePublisher_Replace() {
	p, _ := static.NewAddresses("127.0.0.1:8080")
	s := p.Subscribe()
	fmt.Println(publisher.Addresses((<-s.C()).Instances))
	_ = p.Replace(publisher.FromAddresses("127.0.0.1:8081", "127.0.0.1:8082")...)
	fmt.Println(publisher.Addresses((<-s.C()).Instances))
	p.Stop()
	// Output:
	// [127.0.0.1:8080]
	// [127.0.0.1:8081 127.0.0.1:8082]
}
