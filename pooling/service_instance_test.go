package pooling_test

import (
	"errors"
	"net"
	"testing"

	"github.com/seed41aebe0c/lbkit/pooling"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// addInstances starts a service with the given options and adds ins.
func addInstances(t *testing.T, ins []publisher.Instance, opts ...pooling.ServiceOption) *pooling.Service[net.Conn] {
	t.Helper()
	s := newService(t, nil, opts...)
	for _, in := range ins {
		if err := s.AddInstance(in); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// usesOnly reports whether n uses in a row all succeed through the hosts
// of want.
func usesOnly(s *pooling.Service[net.Conn], n int, want map[string]bool) bool {
	for range n {
		addr, err := use(s)
		if err != nil || !want[addr] {
			return false
		}
	}
	return true
}

// A Service's hosts carry their instance's priority: tier 0 takes every
// call while its hosts serve; when both die (real echo servers on
// 127.0.0.1, killed), the calls move to tier 1.
func TestServiceInstancePriorityTiers(t *testing.T) {
	a, b, c, d := startEcho(t), startEcho(t), startEcho(t), startEcho(t)
	s := addInstances(t, []publisher.Instance{
		{Address: a.addr}, {Address: b.addr},
		{Address: c.addr, Priority: 1}, {Address: d.addr, Priority: 1},
	})
	tier0 := map[string]bool{a.addr: true, b.addr: true}
	if !usesOnly(s, 40, tier0) {
		t.Fatal("calls left tier 0 while its hosts served")
	}
	a.Kill()
	b.Kill()
	tier1 := map[string]bool{c.addr: true, d.addr: true}
	eventually(t, "tier 1 to take every call", func() bool { return usesOnly(s, 20, tier1) })
	for _, h := range s.Status().Hosts {
		if want := map[bool]int{true: 1, false: 0}[tier1[h.Address]]; h.Priority != want {
			t.Errorf("host %s has priority %d, want %d", h.Address, h.Priority, want)
		}
	}
}

// With a local zone (strategy.WithLocalZone through WithHostOptions) a
// Service keeps its calls in the zone while the zone's hosts serve, and
// spills to the other zone when they die.
func TestServiceInstanceZones(t *testing.T) {
	var ins []publisher.Instance
	local, other := map[string]bool{}, map[string]bool{}
	var locals []*echoServer
	for n := range strategy.DefaultZoneMinHosts {
		e := startEcho(t)
		zone := "z2"
		if n < 4 {
			zone = "z1"
			local[e.addr] = true
			locals = append(locals, e)
		} else {
			other[e.addr] = true
		}
		ins = append(ins, publisher.Instance{Address: e.addr, Zone: zone, Metadata: map[string]string{"rack": zone + "-r1"}})
	}
	s := addInstances(t, ins, pooling.WithHostOptions(strategy.WithLocalZone("z1", 0)))
	if !usesOnly(s, 40, local) {
		t.Fatal("calls left zone z1 while its hosts served")
	}
	for _, e := range locals {
		e.Kill()
	}
	eventually(t, "zone z2 to take every call", func() bool { return usesOnly(s, 20, other) })
	for _, h := range s.Status().Hosts {
		want := "z2"
		if local[h.Address] {
			want = "z1"
		}
		if h.Zone != want || h.Metadata["rack"] != want+"-r1" {
			t.Errorf("host %s: zone %q, metadata %v; want zone %s", h.Address, h.Zone, h.Metadata, want)
		}
	}
}

func TestServiceAddInstanceRejectsBadInstances(t *testing.T) {
	s := newService(t, nil)
	for _, in := range []publisher.Instance{{}, {Address: "127.0.0.1:1", Weight: -1}} {
		if err := s.AddInstance(in); !errors.Is(err, pooling.ErrInvalidArgument) {
			t.Errorf("AddInstance(%+v) = %v, want ErrInvalidArgument", in, err)
		}
	}
	if n := len(s.Status().Hosts); n != 0 {
		t.Errorf("%d hosts after bad instances, want 0", n)
	}
}
