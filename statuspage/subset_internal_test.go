package statuspage

import (
	"slices"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/subset"
)

// The history counts the backends that entered or left a balancer's
// subset in each interval: nothing at the first sample (there is no
// interval before it), then the increase of the publisher's Changes; a
// balancer without a subset has no value.
func TestHistorySubsetChanges(t *testing.T) {
	back, err := static.NewAddresses("127.0.0.1:1001", "127.0.0.1:1002", "127.0.0.1:1003", "127.0.0.1:1004", "127.0.0.1:1005", "127.0.0.1:1006")
	if err != nil {
		t.Fatal(err)
	}
	defer back.Stop()
	sub, err := subset.New(back, 2, subset.Fixed(0, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	_, b := incidentBalancer(t, "127.0.0.1:1")
	h := newHistory(10*time.Second, 500*time.Millisecond)
	h.addBalancer("users", b).subset = sub
	h.addBalancer("orders", b)
	t0 := time.UnixMilli(1_000_000)
	h.sample(t0)

	// The subset's first backend leaves.
	gone := sub.Stats().Subset[0]
	var left []publisher.Instance
	for _, in := range back.Instances() {
		if in.Address != gone {
			left = append(left, in)
		}
	}
	if err := back.Replace(left...); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for slices.Contains(sub.Stats().Subset, gone) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still in the subset %v", gone, sub.Stats().Subset)
		}
		time.Sleep(time.Millisecond)
	}
	changes := sub.Stats().Changes
	if changes < 2 { // gone left, another came in
		t.Fatalf("%d changes, want at least 2", changes)
	}
	h.sample(t0.Add(500 * time.Millisecond))
	h.sample(t0.Add(time.Second))
	snap := h.snapshot(0)
	got := snap.Balancers[0].Series["subsetChanges"]
	if len(got) != 3 || !isNaN(got[0]) || got[1] != float32(changes) || got[2] != 0 {
		t.Fatalf("subset changes per interval %v, want [null %d 0]", got, changes)
	}
	for _, v := range snap.Balancers[1].Series["subsetChanges"] {
		if !isNaN(v) {
			t.Fatalf("a balancer without a subset has subset changes %v", snap.Balancers[1].Series["subsetChanges"])
		}
	}
}
