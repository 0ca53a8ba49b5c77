package dnssrv

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/publisher"
)

func TestZoneOf(t *testing.T) {
	for _, c := range []struct {
		addr string
		n    int
		want string
	}{
		{"web-1.eu-west-1a.svc.example:80", 2, "eu-west-1a"},
		{"web-1.eu-west-1a.svc.example:80", 1, "web-1"},
		{"web-1.eu-west-1a.svc.example:80", 4, "example"},
		{"web-1.eu-west-1a.svc.example:80", 5, ""},
		{"web-1.eu-west-1a", 2, "eu-west-1a"},
		{"10.0.0.1:80", 2, ""},
		{"[::1]:80", 1, ""},
		{"a.b:80", 0, ""},
	} {
		if got := ZoneOf(c.addr, c.n); got != c.want {
			t.Errorf("ZoneOf(%q, %d) = %q, want %q", c.addr, c.n, got, c.want)
		}
	}
}

// With WithZoneLabel the publisher fills each instance's zone from its
// target; without it, no zone.
func TestPublisherZoneLabel(t *testing.T) {
	if _, err := New("_http._tcp.example.", time.Hour, WithZoneLabel(0)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("zone label 0: %v, want ErrInvalidArgument", err)
	}
	f := &fakeResolver{}
	f.set(reply{records: []*net.SRV{
		{Target: "b1.zone-b.example.", Port: 80},
		{Target: "a1.zone-a.example.", Port: 80},
	}})
	for _, c := range []struct {
		opts []Option
		want []string
	}{
		{[]Option{WithZoneLabel(2)}, []string{"zone-a", "zone-b"}},
		{nil, []string{"", ""}},
	} {
		p, err := New("_http._tcp.example.", time.Hour, append(c.opts, WithResolver(f))...)
		if err != nil {
			t.Fatal(err)
		}
		ev := waitEvent(t, p.Subscribe(), func(publisher.Event) bool { return true })
		p.Stop()
		if len(ev.Instances) != 2 || ev.Instances[0].Zone != c.want[0] || ev.Instances[1].Zone != c.want[1] {
			t.Errorf("options %d: instances %+v, want zones %v", len(c.opts), ev.Instances, c.want)
		}
	}
}
