package loadbalancer_test

import (
	"errors"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
)

// Instance priorities are failover tiers with the balancer's defaults: a
// healthy tier 0 gets every request, and a failing one gives them up to
// tier 1. Zones are carried to the hosts and follow discovery.
func TestPriorityTiersAndZones(t *testing.T) {
	p, err := static.New(
		publisher.Instance{Address: "a0", Zone: "z1"}, publisher.Instance{Address: "a1", Zone: "z2"},
		publisher.Instance{Address: "b0", Priority: 1}, publisher.Instance{Address: "b1", Priority: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	be := newBackends()
	b, err := loadbalancer.New(p, be.factory)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for range 300 {
		if r, err := call(t, b); err != nil || (r != "a0" && r != "a1") {
			t.Fatalf("healthy tier 0: %v, %v", r, err)
		}
	}
	st := b.Status()
	if len(st.Groups) != 2 || st.Groups[0].Share != 1 || st.Hosts[0].Zone != "z1" || !st.Hosts[0].Healthy {
		t.Fatalf("status %+v", st)
	}

	be.mu.Lock()
	be.failing["a0"], be.failing["a1"] = errors.New("down"), errors.New("down")
	be.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for n := 0; b.Status().Groups[1].Share != 1; n++ {
		if n > 100000 || time.Now().After(deadline) {
			t.Fatalf("tier 0 failing: groups %+v after %d calls", b.Status().Groups, n)
		}
		_, _ = call(t, b)
		time.Sleep(50 * time.Microsecond)
	}
	for range 100 {
		if r, err := call(t, b); err != nil || (r != "b0" && r != "b1") {
			t.Fatalf("failed tier 0: %v, %v", r, err)
		}
	}

	p.Replace(publisher.Instance{Address: "a0", Zone: "z3"}, publisher.Instance{Address: "b0", Priority: 1})
	eventually(t, "the zone change", func() bool { return b.Status().Hosts[0].Zone == "z3" })
}

func TestOneTierHasNoGroups(t *testing.T) {
	b, err := loadbalancer.New(mustStatic(t, "a", "b"), newBackends().factory)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if g := b.Status().Groups; g != nil {
		t.Fatalf("groups %+v", g)
	}
}
