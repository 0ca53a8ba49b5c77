package strategy_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// picks draws n picks from a fresh picker of s over hs.
func seededPicks(s strategy.Strategy, hs []*strategy.Host, n int) []int {
	p := s.NewPicker(hs)
	out := make([]int, n)
	for i := range out {
		out[i] = p.Pick()
	}
	return out
}

// TestSeededRandomRepeats is go-kit's lb.NewRandom(p, seed): two balancers
// seeded alike pick the same sequence, and a different seed another one.
func TestSeededRandomRepeats(t *testing.T) {
	for _, weighted := range []bool{false, true} {
		hs := hosts(t, 1, 2, 3, 4, 5)
		if !weighted {
			hs = hosts(t, 1, 1, 1, 1, 1)
		}
		a := seededPicks(strategy.Random{Weighted: weighted, Rand: rand.NewPCG(42, 0)}, hs, 1000)
		b := seededPicks(strategy.Random{Weighted: weighted, Rand: rand.NewPCG(42, 0)}, hs, 1000)
		if !slices.Equal(a, b) {
			t.Errorf("weighted=%v: same seed, different sequences", weighted)
		}
		c := seededPicks(strategy.Random{Weighted: weighted, Rand: rand.NewPCG(43, 0)}, hs, 1000)
		if slices.Equal(a, c) {
			t.Errorf("weighted=%v: seeds 42 and 43 gave the same 1000 picks", weighted)
		}
		seen := map[int]int{}
		for _, i := range a {
			if i < 0 || i >= len(hs) {
				t.Fatalf("weighted=%v: pick %d out of range", weighted, i)
			}
			seen[i]++
		}
		if len(seen) != len(hs) {
			t.Errorf("weighted=%v: 1000 seeded picks reached %d of %d hosts", weighted, len(seen), len(hs))
		}
	}
}

// TestSeededRandomContinuesAcrossPickers: a picker rebuilt for a new host
// set goes on with the same source rather than restarting it.
func TestSeededRandomContinuesAcrossPickers(t *testing.T) {
	s := strategy.Random{Rand: rand.NewPCG(7, 7)}
	hs := hosts(t, 1, 1, 1, 1)
	first := seededPicks(s, hs, 100)
	second := seededPicks(s, hs, 100)
	if slices.Equal(first, second) {
		t.Error("a second picker from one seeded Random restarted the sequence")
	}
	fresh := seededPicks(strategy.Random{Rand: rand.NewPCG(7, 7)}, hs, 200)
	if !slices.Equal(fresh, append(first, second...)) {
		t.Error("two pickers in turn did not continue one seeded sequence")
	}
}

func TestSeededRandomIsUniform(t *testing.T) {
	c := counts(strategy.Random{Rand: rand.NewPCG(1, 2)}.NewPicker(hosts(t, 1, 1, 1, 1)), 4, 40000)
	for i, n := range c {
		if n < 9000 || n > 11000 {
			t.Errorf("host %d picked %d of 40000 times, want about 10000", i, n)
		}
	}
}

func TestSeededRandomPickAllocatesNothing(t *testing.T) {
	for _, weighted := range []bool{false, true} {
		p := strategy.Random{Weighted: weighted, Rand: rand.NewPCG(1, 2)}.NewPicker(hosts(t, 1, 2, 3))
		if a := testing.AllocsPerRun(1000, func() { p.Pick() }); a != 0 {
			t.Errorf("weighted=%v: %v allocations per pick, want 0", weighted, a)
		}
	}
}

// TestSeededRandomHostSetsRepeat: two host sets (a balancer's core) over
// the same hosts, each with Random seeded alike, pick the same sequence of
// addresses, as two go-kit lb.NewRandom(p, seed) balancers did.
func TestSeededRandomHostSetsRepeat(t *testing.T) {
	seq := func(seed uint64) []string {
		set, err := strategy.NewHostSet[int](strategy.Random{Rand: rand.NewPCG(seed, 0)})
		if err != nil {
			t.Fatal(err)
		}
		var ms []strategy.Member[int]
		for i, a := range []string{"a:1", "b:1", "c:1"} {
			ms = append(ms, strategy.Member[int]{Host: set.NewHost(a, 1), Value: i})
		}
		set.Update(ms, nil)
		out := make([]string, 300)
		for i := range out {
			m, err := set.Pick(nil)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = m.Host.Address()
		}
		return out
	}
	if a, b := seq(2016), seq(2016); !slices.Equal(a, b) {
		t.Error("two host sets seeded alike picked different sequences")
	}
	if slices.Equal(seq(2016), seq(2017)) {
		t.Error("different seeds picked the same 300 hosts")
	}
}
