package subset_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/go-kit/kit/metrics/generic"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/subset"
)

// The metrics show the coordinate and the subset at once, and Changes
// counts the backends that entered or left the subset: two when a backend
// of the subset leaves (it, and the one that takes its place), none when a
// backend outside the subset leaves and the ring's respacing spares it.
func TestMetricsFollowTheSubset(t *testing.T) {
	all := addrs(12)
	back := staticOf(t, all...)
	p := newSubset(t, back, 3, subset.Fixed(1, 4))
	m := &subset.Metrics{
		Rank:     generic.NewGauge("rank"),
		Clients:  generic.NewGauge("clients"),
		Backends: generic.NewGauge("backends"),
		Subset:   generic.NewGauge("subset"),
		Changes:  generic.NewCounter("changes"),
	}
	if err := p.SetMetrics(m); err != nil {
		t.Fatal(err)
	}
	gauges := func() [4]float64 {
		return [4]float64{m.Rank.(*generic.Gauge).Value(), m.Clients.(*generic.Gauge).Value(),
			m.Backends.(*generic.Gauge).Value(), m.Subset.(*generic.Gauge).Value()}
	}
	if g := gauges(); g != [4]float64{1, 4, 12, 3} {
		t.Fatalf("rank, clients, backends, subset = %v, want [1 4 12 3]", g)
	}
	changes := func() float64 { return m.Changes.(*generic.Counter).Value() }
	if c := changes(); c != 0 {
		t.Fatalf("changes %v at start", c)
	}

	// One backend of the subset leaves.
	first := p.Stats()
	if first.Changes != 0 || first.Changed.IsZero() {
		t.Fatalf("first subset: Changes %d, Changed %v; want 0 and set", first.Changes, first.Changed)
	}
	gone := p.Stats().Subset[0]
	rest := slices.DeleteFunc(slices.Clone(all), func(a string) bool { return a == gone })
	before := p.Stats().Subset
	if err := back.Replace(publisher.FromAddresses(rest...)...); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Backends != 11 {
		if time.Now().After(deadline) {
			t.Fatal("the subset did not follow the backends")
		}
		time.Sleep(time.Millisecond)
	}
	after := p.Stats().Subset
	want := 0
	for _, a := range before {
		if !slices.Contains(after, a) {
			want++
		}
	}
	for _, a := range after {
		if !slices.Contains(before, a) {
			want++
		}
	}
	if want < 2 {
		t.Fatalf("subset %v -> %v: the departed backend's place was not taken", before, after)
	}
	if c := changes(); c != float64(want) {
		t.Fatalf("changes %v, want %d (subset %v -> %v)", c, want, before, after)
	}
	if st := p.Stats(); st.Changes != uint64(want) || !st.Changed.After(first.Changed) {
		t.Fatalf("Stats: Changes %d, want %d; Changed %v, want after %v", st.Changes, want, st.Changed, first.Changed)
	}
	if g := gauges(); g != [4]float64{1, 4, 11, 3} {
		t.Fatalf("rank, clients, backends, subset = %v, want [1 4 11 3]", g)
	}

	// Off, and bad input.
	if err := p.SetMetrics(nil); err != nil {
		t.Fatal(err)
	}
	if err := p.SetMetrics(&subset.Metrics{Rank: (*generic.Gauge)(nil)}); !errors.Is(err, subset.ErrInvalidArgument) {
		t.Fatalf("typed nil gauge: %v, want ErrInvalidArgument", err)
	}
}
