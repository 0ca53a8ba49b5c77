package strategy_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// UpdateHosts takes the members as two parallel slices; every pick, and
// Members, must pair each host with its own value, whichever picker the
// strategy builds (the random and round-robin ones are called directly,
// the others through the Picker interface, a tiered set through its
// groups).
func TestUpdateHostsPairsHostsWithValues(t *testing.T) {
	for _, s := range []strategy.Strategy{strategy.Random{}, strategy.RoundRobin{}, strategy.PeakEWMA{}, strategy.LeastInFlight{}, strategy.Random{Weighted: true}} {
		for _, tiers := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/tiers=%v", s.Name(), tiers), func(t *testing.T) {
				set, err := strategy.NewHostSet[string](s)
				if err != nil {
					t.Fatal(err)
				}
				hosts := make([]*strategy.Host, 7)
				values := make([]string, len(hosts))
				for i := range hosts {
					hosts[i] = set.NewHost(fmt.Sprintf("h%d", i), 1+i%3)
					if tiers {
						hosts[i].SetPriority(i % 2)
					}
					values[i] = hosts[i].Address()
				}
				if err := set.UpdateHosts(hosts, values, nil); err != nil {
					t.Fatal(err)
				}
				seen := map[string]bool{}
				for range 500 {
					m, err := set.Pick(nil)
					if err != nil {
						t.Fatal(err)
					}
					if m.Value != m.Host.Address() {
						t.Fatalf("picked %s with the value of %s", m.Host.Address(), m.Value)
					}
					seen[m.Value] = true
				}
				if len(seen) < 2 {
					t.Fatalf("500 picks saw only %v", seen)
				}
				m, err := set.Pick([]string{"h0", "h1", "h2", "h3", "h4", "h5"})
				if err != nil || m.Value != "h6" || m.Host != hosts[6] {
					t.Fatalf("pick avoiding all but h6: %v %v", m, err)
				}
				ms := set.Members()
				if len(ms) != len(hosts) {
					t.Fatalf("%d members", len(ms))
				}
				for i, m := range ms {
					if m.Host != hosts[i] || m.Value != values[i] {
						t.Fatalf("member %d is %s with %s", i, m.Host.Address(), m.Value)
					}
				}
				if again := set.Members(); &again[0] != &ms[0] {
					t.Fatal("Members made a second copy of the same set")
				}
			})
		}
	}
}

func TestUpdateHostsRefusesSlicesOfDifferentLengths(t *testing.T) {
	set, err := strategy.NewHostSet[string](strategy.RoundRobin{})
	if err != nil {
		t.Fatal(err)
	}
	a := set.NewHost("a", 1)
	if err := set.UpdateHosts([]*strategy.Host{a}, []string{"a"}, nil); err != nil {
		t.Fatal(err)
	}
	err = set.UpdateHosts([]*strategy.Host{a, set.NewHost("b", 1)}, []string{"a"}, nil)
	if !errors.Is(err, strategy.ErrInvalidArgument) {
		t.Fatalf("err %v, want ErrInvalidArgument", err)
	}
	if ms := set.Members(); len(ms) != 1 || ms[0].Host != a {
		t.Fatalf("a refused update changed the set: %v", ms)
	}
	// An empty set is empty either way, and Pick returns the none error.
	boom := errors.New("boom")
	if err := set.UpdateHosts(nil, nil, boom); err != nil {
		t.Fatal(err)
	}
	if _, err := set.Pick(nil); !errors.Is(err, boom) {
		t.Fatalf("Pick on an empty set: %v", err)
	}
	if ms := set.Members(); len(ms) != 0 {
		t.Fatalf("members %v", ms)
	}
}

// Update keeps the caller's members slice: Members returns it, not a copy.
func TestUpdateKeepsTheMembersSlice(t *testing.T) {
	set, err := strategy.NewHostSet[int](strategy.RoundRobin{})
	if err != nil {
		t.Fatal(err)
	}
	ms := []strategy.Member[int]{{Host: set.NewHost("a", 1), Value: 1}, {Host: set.NewHost("b", 1), Value: 2}}
	set.Update(ms, nil)
	if got := set.Members(); &got[0] != &ms[0] || len(got) != 2 {
		t.Fatal("Members is not the slice Update was given")
	}
	for range 10 {
		m, _ := set.Pick(nil)
		if want := map[string]int{"a": 1, "b": 2}[m.Host.Address()]; m.Value != want {
			t.Fatalf("picked %s with %d", m.Host.Address(), m.Value)
		}
	}
}
