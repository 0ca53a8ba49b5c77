package strategy

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestFastExpAccuracy(t *testing.T) {
	worst := 0.0
	for x := -700.0; x < 700; x += 0.00731 {
		want := math.Exp(x)
		if want == 0 || math.IsInf(want, 0) {
			continue
		}
		worst = max(worst, math.Abs(fastExp(x)-want)/want)
	}
	if worst > 2e-5 {
		t.Fatalf("worst relative error %g, documented 2e-5", worst)
	}
	if fastExp(-2000) != 0 || !math.IsInf(fastExp(2000), 1) || !math.IsNaN(fastExp(math.NaN())) {
		t.Fatal("fastExp out of range or NaN")
	}
}

func TestAliasTableSamplesItsWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, w := range [][]float64{
		{1, 1, 1, 1},
		{1, 0, 3, 6},
		{1e-9, 1, 0, 0, 2},
		{5},
	} {
		tab, scratch := newAliasTable(len(w)), newAliasScratch(len(w))
		scratch.build(tab, w)
		var total float64
		for _, x := range w {
			total += x
		}
		got := make([]float64, len(w))
		const n = 400000
		for range n {
			got[tab.pick(r.Uint64())]++
		}
		for i := range w {
			if want := w[i] / total; math.Abs(got[i]/n-want) > 0.005 {
				t.Errorf("weights %v: host %d drawn %.4f of the time, want %.4f", w, i, got[i]/n, want)
			}
		}
	}
}

func TestBetaSamplesHaveTheRightMoments(t *testing.T) {
	g := rng{r: rand.New(rand.NewPCG(3, 4))}
	for _, ab := range [][2]float64{{1, 1}, {2, 5}, {30, 3}, {400, 100}} {
		a, b := ab[0], ab[1]
		var sum, sum2 float64
		const n = 200000
		for range n {
			x := g.beta(a, b)
			if x < 0 || x > 1 {
				t.Fatalf("Beta(%v,%v) drew %v", a, b, x)
			}
			sum += x
			sum2 += x * x
		}
		mean, variance := sum/n, sum2/n-(sum/n)*(sum/n)
		wantMean := a / (a + b)
		wantVar := a * b / ((a + b) * (a + b) * (a + b + 1))
		if math.Abs(mean-wantMean) > 0.005 || math.Abs(variance-wantVar) > 0.1*wantVar {
			t.Errorf("Beta(%v,%v): mean %.4f var %.6f, want %.4f and %.6f", a, b, mean, variance, wantMean, wantVar)
		}
	}
}

func TestDrawsAreDistinctAndUniform(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n, draws = 6, 600000
	pairs := map[[2]int]int{}
	triples := map[[3]int]int{}
	for range draws {
		a, b := drawTwo(r.Uint64(), n)
		if a == b || a < 0 || b < 0 || a >= n || b >= n {
			t.Fatalf("drawTwo gave %d, %d", a, b)
		}
		pairs[[2]int{min(a, b), max(a, b)}]++
		x, y, z := drawThree(r.Uint64(), n)
		if x == y || y == z || x == z || min(x, y, z) < 0 || max(x, y, z) >= n {
			t.Fatalf("drawThree gave %d, %d, %d", x, y, z)
		}
		lo, hi := min(x, y, z), max(x, y, z)
		triples[[3]int{lo, x + y + z - lo - hi, hi}]++
	}
	// Every pair (15) and every triple (20) equally often.
	check := func(what string, got, kinds int) {
		if got != kinds {
			t.Fatalf("%s: %d kinds drawn, want %d", what, got, kinds)
		}
	}
	check("pairs", len(pairs), 15)
	check("triples", len(triples), 20)
	for p, c := range pairs {
		if math.Abs(float64(c)/draws-1.0/15) > 0.003 {
			t.Errorf("pair %v drawn %.4f of the time, want %.4f", p, float64(c)/draws, 1.0/15)
		}
	}
	for tr, c := range triples {
		if math.Abs(float64(c)/draws-1.0/20) > 0.003 {
			t.Errorf("triple %v drawn %.4f of the time, want %.4f", tr, float64(c)/draws, 1.0/20)
		}
	}
	// The general drawer too: k = 5 of 7, all distinct, each host 5/7 of
	// the time.
	seen := make([]int, 7)
	for range 100000 {
		d := newDrawer(rng{r: r}, 7, r.IntN(7), r.Uint64(), 1)
		picked := map[int]bool{d.sorted[0]: true}
		seen[d.sorted[0]]++
		for range 4 {
			i := d.next()
			if picked[i] {
				t.Fatalf("drawer repeated %d", i)
			}
			picked[i] = true
			seen[i]++
		}
	}
	for i, c := range seen {
		if math.Abs(float64(c)/100000-5.0/7) > 0.01 {
			t.Errorf("host %d in %.3f of the draws, want %.3f", i, float64(c)/100000, 5.0/7)
		}
	}
}
