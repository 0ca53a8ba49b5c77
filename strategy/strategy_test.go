package strategy_test

import (
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/seed41aebe0c/lbkit/strategy"
)

func hosts(weights ...int) []*strategy.Stats {
	out := make([]*strategy.Stats, len(weights))
	for i, w := range weights {
		out[i] = strategy.NewStats(fmt.Sprintf("h%d:1", i), w)
	}
	return out
}

func counts(p strategy.Picker, n, picks int) []int {
	c := make([]int, n)
	for range picks {
		c[p.Pick()]++
	}
	return c
}

func TestEmptyAndSingle(t *testing.T) {
	for _, s := range []strategy.Strategy{strategy.Random(), strategy.RoundRobin(), strategy.WeightedRandom(), strategy.WeightedRoundRobin()} {
		if i := s.NewPicker(nil).Pick(); i != -1 {
			t.Errorf("%s over no hosts picked %d", s.Name(), i)
		}
		if i := s.NewPicker(hosts(3)).Pick(); i != 0 {
			t.Errorf("%s over one host picked %d", s.Name(), i)
		}
	}
}

func TestRoundRobinCycles(t *testing.T) {
	p := strategy.RoundRobin().NewPicker(hosts(1, 1, 1))
	first := p.Pick()
	for i := 1; i < 9; i++ {
		if got, want := p.Pick(), (first+i)%3; got != want {
			t.Fatalf("pick %d = %d, want %d", i, got, want)
		}
	}
}

func TestRandomIsUniform(t *testing.T) {
	c := counts(strategy.Random().NewPicker(hosts(1, 1, 1, 1)), 4, 40000)
	for i, n := range c {
		if n < 9000 || n > 11000 {
			t.Fatalf("host %d got %d of 40000 picks, want about 10000: %v", i, n, c)
		}
	}
}

func TestWeightedRandomHonoursWeights(t *testing.T) {
	c := counts(strategy.WeightedRandom().NewPicker(hosts(1, 3, 6)), 3, 100000)
	for i, want := range []float64{0.1, 0.3, 0.6} {
		if got := float64(c[i]) / 100000; math.Abs(got-want) > 0.01 {
			t.Fatalf("host %d share %.3f, want %.1f: %v", i, got, want, c)
		}
	}
}

func TestWeightedRoundRobinIsExactAndSmooth(t *testing.T) {
	p := strategy.WeightedRoundRobin().NewPicker(hosts(2, 6, 4))
	// weights divide by 2: one cycle is 1+3+2 = 6 picks.
	c := counts(p, 3, 600)
	if c[0] != 100 || c[1] != 300 || c[2] != 200 {
		t.Fatalf("counts %v, want exactly [100 300 200]", c)
	}
	// Smooth: the heaviest host never runs more than twice in a row.
	run, prev := 0, -1
	for range 60 {
		i := p.Pick()
		if i == prev {
			run++
		} else {
			run = 1
		}
		prev = i
		if run > 2 {
			t.Fatal("weighted round robin bunches picks")
		}
	}
}

func TestWeightedRoundRobinHugeWeights(t *testing.T) {
	ws := make([]int, 100)
	for i := range ws {
		ws[i] = 1_000_000 + i*7919 // coprime-ish: no common divisor to save us
	}
	ws[0] = 1
	c := counts(strategy.WeightedRoundRobin().NewPicker(hosts(ws...)), 100, 1<<17)
	if c[0] == 0 {
		t.Fatal("lightest host starved; every host must keep a slot")
	}
	if c[99] < 1000 {
		t.Fatalf("heavy host got %d picks", c[99])
	}
}

func TestEqualWeightsFallBackToUnweighted(t *testing.T) {
	if got := counts(strategy.WeightedRoundRobin().NewPicker(hosts(5, 5)), 2, 10); got[0] != 5 {
		t.Fatalf("equal weights: %v", got)
	}
}

func TestPickersAreConcurrentAndAllocationFree(t *testing.T) {
	hs := hosts(1, 2, 3, 4, 5)
	for _, s := range []strategy.Strategy{strategy.Random(), strategy.RoundRobin(), strategy.WeightedRandom(), strategy.WeightedRoundRobin()} {
		p := s.NewPicker(hs)
		if n := testing.AllocsPerRun(1000, func() { p.Pick() }); n != 0 {
			t.Errorf("%s allocates %v per pick", s.Name(), n)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 1000 {
					if i := p.Pick(); i < 0 || i >= len(hs) {
						t.Errorf("%s picked %d", s.Name(), i)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
}

func TestFuncAdapters(t *testing.T) {
	s := strategy.Func{Label: "first", Build: func([]*strategy.Stats) strategy.Picker {
		return strategy.PickerFunc(func() int { return 0 })
	}}
	if s.Name() != "first" || s.NewPicker(hosts(1, 1)).Pick() != 0 {
		t.Fatal("Func adapter")
	}
}
