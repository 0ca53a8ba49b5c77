package subset_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/subset"
)

// lowChurnAll returns the subset of every client named client-0 … .
func lowChurnAll(t *testing.T, backends []string, clients, size int) [][]string {
	t.Helper()
	out := make([][]string, clients)
	for c := range clients {
		s, err := subset.AssignLowChurn(backends, fmt.Sprintf("client-%d", c), size)
		if err != nil {
			t.Fatal(err)
		}
		out[c] = s
	}
	return out
}

// The defining property of the LowChurn design, checked on random changes:
// a backend leaving changes only the subsets that held it, each by that
// one backend; a backend joining changes only the subsets it enters, each
// by one backend. So the pairs changed are exactly the minimum.
func TestLowChurnMovesOnlyTheMinimum(t *testing.T) {
	const clients, size = 300, 10
	r := rand.New(rand.NewPCG(3, 4))
	backends := addrs(100)
	before := lowChurnAll(t, backends, clients, size)
	for range 10 {
		gone := r.IntN(len(backends))
		lost := backends[gone]
		fewer := slices.Delete(slices.Clone(backends), gone, gone+1)
		after := lowChurnAll(t, fewer, clients, size)
		users := 0
		for c := range after {
			held := slices.Contains(before[c], lost)
			moved := 0
			for _, b := range after[c] {
				if !slices.Contains(before[c], b) {
					moved++
				}
			}
			switch {
			case held:
				users++
				if moved != 1 {
					t.Fatalf("client %d held %s and changed %d backends, want 1", c, lost, moved)
				}
			case moved != 0:
				t.Fatalf("client %d did not hold %s and changed %d backends", c, lost, moved)
			}
		}
		if n := changedPairs(before, after); n != users {
			t.Fatalf("removing %s changed %d pairs, want its %d clients", lost, n, users)
		}
		// And back: the backend rejoining restores every subset.
		if again := lowChurnAll(t, backends, clients, size); !slices.EqualFunc(again, before, slices.Equal) {
			t.Fatalf("re-adding %s did not restore the subsets", lost)
		}
	}
	more := append(slices.Clone(backends), "10.9.9.9:8080")
	after := lowChurnAll(t, more, clients, size)
	takers := 0
	for c := range after {
		if slices.Contains(after[c], "10.9.9.9:8080") {
			takers++
		}
	}
	if n := changedPairs(before, after); n != takers || takers == 0 {
		t.Fatalf("a joining backend changed %d pairs, want its %d (> 0) clients", n, takers)
	}
}

// Balance is chance under LowChurn, but the hash must not be degenerate:
// at 300 × 100 × 10 the clients per backend stay near the binomial spread
// (mean 30, standard deviation about 5.2), and every backend is used.
func TestLowChurnBalanceIsBinomial(t *testing.T) {
	const clients, size = 300, 10
	backends := addrs(100)
	per := map[string]int{}
	for c, s := range lowChurnAll(t, backends, clients, size) {
		if len(s) != size || len(slices.Compact(slices.Sorted(slices.Values(s)))) != size {
			t.Fatalf("client %d: subset %v, want %d distinct backends", c, s, size)
		}
		for _, b := range s {
			per[b]++
		}
	}
	lo, hi := clients, 0
	var sq float64
	for _, b := range backends {
		lo, hi = min(lo, per[b]), max(hi, per[b])
		d := float64(per[b] - 30)
		sq += d * d
	}
	sd := sq / float64(len(backends))
	if lo < 12 || hi > 50 || sd < 10 || sd > 50 {
		t.Fatalf("clients per backend %d to %d, variance %.1f; want about 30 ± 2·5.2 (variance ≈ 27)", lo, hi, sd)
	}
}

func TestAssignLowChurnIgnoresInputOrderAndRejectsBadInput(t *testing.T) {
	backends := addrs(40)
	want, err := subset.AssignLowChurn(backends, "me", 5)
	if err != nil {
		t.Fatal(err)
	}
	shuffled := slices.Clone(backends)
	rand.New(rand.NewPCG(5, 6)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if got, _ := subset.AssignLowChurn(shuffled, "me", 5); !slices.Equal(got, want) {
		t.Fatalf("the order of the backends changed the subset: %v, want %v", got, want)
	}
	if other, _ := subset.AssignLowChurn(backends, "you", 5); slices.Equal(other, want) {
		t.Fatalf("two clients got the same subset %v: the name does not salt the scores", want)
	}
	if all, err := subset.AssignLowChurn(backends[:3], "me", 5); err != nil || len(all) != 3 {
		t.Fatalf("3 backends, size 5: %v, %v; want all 3", all, err)
	}
	for _, c := range []struct {
		name     string
		backends []string
		client   string
		size     int
	}{
		{"size 0", backends, "me", 0},
		{"empty client", backends, "", 2},
		{"empty address", []string{"a:1", ""}, "me", 1},
		{"duplicate address", []string{"a:1", "b:1", "a:1"}, "me", 1},
	} {
		if s, err := subset.AssignLowChurn(c.backends, c.client, c.size); !errors.Is(err, subset.ErrInvalidArgument) {
			t.Errorf("%s: %v, %v; want ErrInvalidArgument", c.name, s, err)
		}
	}
}

// Under LowChurn a Peers client publishes before the peers are known, and
// peers joining and leaving never change its subset.
func TestLowChurnPublisherIgnoresPeers(t *testing.T) {
	all := addrs(20)
	back := staticOf(t, all...)
	peers := staticOf(t)
	p, err := subset.New(back, 4, subset.Peers(peers, "client-b"), subset.WithDesign(subset.LowChurn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	want, _ := subset.AssignLowChurn(all, "client-b", 4)
	sub := p.Subscribe()
	defer sub.Cancel()
	if ev := next(t, sub); !slices.Equal(sorted(publisher.Addresses(ev.Instances)), sorted(want)) {
		t.Fatalf("first subset %v, want %v", publisher.Addresses(ev.Instances), want)
	}
	for _, ids := range [][]string{{"client-a", "client-c"}, {"client-0", "client-a", "client-b", "client-c"}, {"client-b"}} {
		if err := peers.Replace(publisher.FromAddresses(ids...)...); err != nil {
			t.Fatal(err)
		}
		count := len(ids)
		if !slices.Contains(ids, "client-b") {
			count++ // the client counts itself in
		}
		deadline := time.Now().Add(5 * time.Second)
		for st := p.Stats(); st.Count != count; st = p.Stats() {
			if time.Now().After(deadline) {
				t.Fatalf("peers %v: stats %+v", ids, st)
			}
			time.Sleep(time.Millisecond)
		}
		if st := p.Stats(); !slices.Equal(st.Subset, want) || st.Changes != 0 || st.Design != subset.LowChurn {
			t.Fatalf("peers %v: subset %v (changes %d, design %v), want %v unchanged", ids, st.Subset, st.Changes, st.Design, want)
		}
	}
}

// A Fixed client under LowChurn is named by its rank.
func TestLowChurnFixedUsesTheRank(t *testing.T) {
	all := addrs(30)
	p, err := subset.New(staticOf(t, all...), 5, subset.Fixed(7, 40), subset.WithDesign(subset.LowChurn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	want, _ := subset.AssignLowChurn(all, "7", 5)
	if st := p.Stats(); !st.Ready || !slices.Equal(st.Subset, want) {
		t.Fatalf("subset %v, want %v", st.Subset, want)
	}
	for _, o := range []subset.Option{nil, subset.WithDesign(subset.Design(9))} {
		if _, err := subset.New(staticOf(t, all...), 5, subset.Fixed(7, 40), o); !errors.Is(err, subset.ErrInvalidArgument) {
			t.Errorf("option %v: %v, want ErrInvalidArgument", o, err)
		}
	}
	if s := subset.Design(9).String(); s != "Design(9)" || subset.LowChurn.String() != "low-churn" || subset.Balanced.String() != "balanced" {
		t.Errorf("Design strings: %q %q %q", s, subset.LowChurn, subset.Balanced)
	}
}
