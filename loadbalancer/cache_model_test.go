package loadbalancer

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// TestUpdateMatchesModel applies random events to the cache and checks each
// result against a model of what an update means: the live set is the
// event's instances in order, the first of a duplicate address winning,
// less the new ones whose factory fails; an instance live before keeps its host
// (its statistics) and takes the event's weight and priority; the factory
// runs only for instances not live before, and every endpoint made is
// closed exactly once. The events mostly repeat the last list with a few
// changes, as discovery does, so that both the update's path for
// unchanged positions and its general path are taken, and the event's
// slice is sometimes the previous one again.
func TestUpdateMatchesModel(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { checkUpdateModel(t, seed) })
	}
}

func checkUpdateModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	r := newRecorder()
	b := newCacheBalancer(t, r.factory)
	addrs := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	var list []publisher.Instance
	hosts := map[string]*strategy.Host{} // the model's live set, by address
	made := map[string]int{}
	for step := range 300 {
		// Mostly the last list with a change or two, sometimes a fresh one.
		next := slices.Clone(list)
		if rng.IntN(8) == 0 || len(next) == 0 {
			next = next[:0]
			for range rng.IntN(7) {
				next = append(next, publisher.Instance{Address: addrs[rng.IntN(len(addrs))]})
			}
		}
		for range rng.IntN(3) {
			if len(next) == 0 {
				break
			}
			k := rng.IntN(len(next))
			switch rng.IntN(5) {
			case 0:
				next[k].Address = addrs[rng.IntN(len(addrs))] // replaced, maybe by a duplicate
			case 1:
				next[k].Weight = rng.IntN(3)
			case 2:
				next[k].Priority = rng.IntN(2)
			case 3:
				next = slices.Delete(next, k, k+1)
			case 4:
				j := rng.IntN(len(next))
				next[k], next[j] = next[j], next[k]
			}
		}
		if rng.IntN(6) == 0 {
			next = append(next, publisher.Instance{Address: addrs[rng.IntN(len(addrs))]})
		}
		failing := ""
		if rng.IntN(5) == 0 {
			failing = addrs[rng.IntN(len(addrs))]
		}
		r.mu.Lock()
		clear(r.failing)
		if failing != "" {
			r.failing[failing] = true
		}
		r.mu.Unlock()
		if rng.IntN(4) > 0 || len(list) == 0 {
			list = next // else the same slice again
		}
		b.cache.update(publisher.Event{Instances: list})

		// The model.
		var want []string
		first := map[string]publisher.Instance{}
		for _, in := range list {
			if _, dup := first[in.Address]; dup || in.Address == failing && hosts[in.Address] == nil {
				continue // a duplicate, or new and its factory fails
			}
			first[in.Address] = in
			want = append(want, in.Address)
			if hosts[in.Address] == nil {
				made[in.Address]++
			}
		}
		if got := live(b); got != strings.Join(want, ",") {
			t.Fatalf("step %d: live %s, want %s (event %v, failing %q)", step, got, strings.Join(want, ","), list, failing)
		}
		next2 := map[string]*strategy.Host{}
		for _, m := range b.set.Members() {
			a := m.Host.Address()
			if h := hosts[a]; h != nil && h != m.Host {
				t.Fatalf("step %d: %s stayed live but got a new host", step, a)
			}
			in := first[a]
			if m.Host.Weight() != in.EffectiveWeight() || m.Host.Priority() != in.Priority {
				t.Fatalf("step %d: %s has weight %d priority %d, want %d %d", step, a, m.Host.Weight(), m.Host.Priority(), in.EffectiveWeight(), in.Priority)
			}
			next2[a] = m.Host
		}
		hosts = next2
		if got, want := r.counts(r.made), fmt.Sprint(made); got != want {
			t.Fatalf("step %d: factory calls %s, want %s", step, got, want)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := r.counts(r.closed), fmt.Sprint(made); got != want {
		t.Fatalf("closed %s, want every endpoint made closed once: %s", got, want)
	}
}
