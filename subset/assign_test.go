package subset_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/subset"
)

func addrs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.0.%d.%d:8080", i/250, 1+i%250)
	}
	return out
}

// assignAll returns every client's subset.
func assignAll(t *testing.T, backends []string, clients, size int) [][]string {
	t.Helper()
	out := make([][]string, clients)
	for rank := range clients {
		s, err := subset.Assign(backends, rank, clients, size)
		if err != nil {
			t.Fatalf("Assign(rank %d of %d, size %d): %v", rank, clients, size, err)
		}
		out[rank] = s
	}
	return out
}

func TestAssignConnectionsWithinOneOfFairShare(t *testing.T) {
	for _, c := range []struct{ clients, backends, size int }{
		{300, 100, 10}, // the target
		{7, 100, 10},   // fewer clients than windows: some backends unused
		{301, 97, 10},
		{1000, 33, 4},
		{3, 5, 5},
		{5, 3, 10}, // subsets bigger than the set: everyone uses all
	} {
		t.Run(fmt.Sprintf("%dx%dx%d", c.clients, c.backends, c.size), func(t *testing.T) {
			backends := addrs(c.backends)
			per := map[string]int{}
			for rank, s := range assignAll(t, backends, c.clients, c.size) {
				want := min(c.size, c.backends)
				if len(s) != want || len(slices.Compact(slices.Sorted(slices.Values(s)))) != want {
					t.Fatalf("rank %d: subset %v, want %d distinct backends", rank, s, want)
				}
				for _, b := range s {
					per[b]++
				}
			}
			fair := float64(c.clients*min(c.size, c.backends)) / float64(c.backends)
			for _, b := range backends {
				if d := float64(per[b]) - fair; d <= -1 || d >= 1 {
					t.Errorf("backend %s has %d clients, fair share %.2f", b, per[b], fair)
				}
			}
		})
	}
}

func TestAssignIgnoresInputOrder(t *testing.T) {
	backends := addrs(40)
	want := assignAll(t, backends, 12, 5)
	r := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		shuffled := slices.Clone(backends)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := assignAll(t, shuffled, 12, 5); !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("the order of the backends changed the subsets")
		}
	}
}

// changedPairs counts the client–backend pairs in after and not in before.
func changedPairs(before, after [][]string) int {
	n := 0
	for c := range after {
		for _, b := range after[c] {
			if !slices.Contains(before[c], b) {
				n++
			}
		}
	}
	return n
}

// The ring design moves more than the minimum when a backend leaves (every
// client's place is rescaled), but a bounded amount: each client changes
// at most one backend for the rescaling plus one for the lost backend,
// and every client that used the lost backend gets a replacement.
func TestAssignBackendLeavingMovesAtMostOnePairPerClient(t *testing.T) {
	const clients, size = 300, 10
	backends := addrs(100)
	before := assignAll(t, backends, clients, size)
	for _, gone := range []int{0, 37, 99} {
		lost := backends[gone]
		fewer := slices.Delete(slices.Clone(backends), gone, gone+1)
		after := assignAll(t, fewer, clients, size)
		users := 0
		for c := range after {
			if slices.Contains(after[c], lost) {
				t.Fatalf("client %d still uses removed backend %s", c, lost)
			}
			moved := 0
			for _, b := range after[c] {
				if !slices.Contains(before[c], b) {
					moved++
				}
			}
			if moved > 1 {
				t.Errorf("client %d changed %d backends, want at most 1", c, moved)
			}
			if slices.Contains(before[c], lost) {
				users++
				if moved != 1 {
					t.Errorf("client %d used %s and changed %d backends, want 1", c, lost, moved)
				}
			}
		}
		if users != clients*size/len(backends) {
			t.Errorf("%d clients used %s, want %d", users, lost, clients*size/len(backends))
		}
		// The rescaling moves some clients; far fewer than a reshuffle
		// (which moves about N·d·(1-d/M) = 2,700 pairs).
		if n := changedPairs(before, after); n > clients*2/3 {
			t.Errorf("removing backend %d changed %d pairs, want at most %d", gone, n, clients*2/3)
		}
	}
}

func TestAssignRejectsInvalidArguments(t *testing.T) {
	ok := addrs(5)
	for _, c := range []struct {
		name              string
		backends          []string
		rank, count, size int
	}{
		{"size 0", ok, 0, 1, 0},
		{"negative size", ok, 0, 1, -1},
		{"count 0", ok, 0, 0, 2},
		{"negative rank", ok, -1, 3, 2},
		{"rank = count", ok, 3, 3, 2},
		{"empty address", []string{"a:1", ""}, 0, 1, 1},
		{"duplicate address", []string{"a:1", "b:1", "a:1"}, 0, 1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := subset.Assign(c.backends, c.rank, c.count, c.size)
			if !errors.Is(err, subset.ErrInvalidArgument) || !errors.Is(err, publisher.ErrInvalidArgument) {
				t.Fatalf("Assign = %v, %v; want an error wrapping ErrInvalidArgument", s, err)
			}
		})
	}
	if s, err := subset.Assign(nil, 0, 1, 3); err != nil || len(s) != 0 {
		t.Fatalf("Assign(no backends) = %v, %v; want an empty subset", s, err)
	}
}

func BenchmarkAssign(b *testing.B) {
	backends := addrs(1000)
	b.ReportAllocs()
	for n := 0; b.Loop(); n++ {
		if _, err := subset.Assign(backends, n%300, 300, 10); err != nil {
			b.Fatal(err)
		}
	}
}

// A backend joining moves each client by at most one backend too, and the
// newcomer gets its fair share of clients at once.
func TestAssignBackendJoiningMovesAtMostOnePairPerClient(t *testing.T) {
	const clients, size = 300, 10
	backends := addrs(101)
	before := assignAll(t, backends[:100], clients, size)
	after := assignAll(t, backends, clients, size)
	newcomer := 0
	for c := range after {
		moved := 0
		for _, b := range after[c] {
			if !slices.Contains(before[c], b) {
				moved++
			}
		}
		if moved > 1 {
			t.Errorf("client %d changed %d backends, want at most 1", c, moved)
		}
		if slices.Contains(after[c], backends[100]) {
			newcomer++
		}
	}
	if newcomer < clients*size/101 || newcomer > clients*size/101+1 {
		t.Errorf("the new backend has %d clients, want %d or %d", newcomer, clients*size/101, clients*size/101+1)
	}
	if n := changedPairs(before, after); n > clients*2/3 {
		t.Errorf("adding a backend changed %d pairs, want at most %d", n, clients*2/3)
	}
}
