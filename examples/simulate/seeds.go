package main

import (
	"errors"
	"fmt"
	"io"
	"math"

	"slices"
)

// simulateSeeds runs the selected scenarios and strategies once per seed,
// o.seed to o.seed+o.seeds-1, and returns each seed's outcomes.
func simulateSeeds(o options) ([][]outcome, error) {
	if o.seeds < 1 {
		return nil, errors.New("-seeds must be at least 1")
	}
	runs := make([][]outcome, o.seeds)
	for k := range runs {
		one := o
		one.seed = o.seed + uint64(k)
		out, err := simulate(one)
		if err != nil {
			return nil, err
		}
		for _, oc := range out {
			for _, r := range oc.results {
				r.m.traffic = nil // summarized, and no chart is drawn from it
			}
		}
		runs[k] = out
	}
	return runs, nil
}

// reportSeeds prints, per scenario, every column as the median over the
// seeds with the range [min–max]. It returns the number of simulations.
func reportSeeds(o options, runs [][]outcome, out io.Writer) int {
	legend(out)
	fmt.Fprintf(out, "Every figure: median over %d seeds (%d-%d) [min–max].\n", len(runs), o.seed, o.seed+uint64(len(runs))-1)
	n := 0
	for s := range runs[0] {
		rows := make([][]*result, len(runs[0][s].results))
		for c := range rows {
			for _, run := range runs {
				rows[c] = append(rows[c], run[s].results[c])
				n++
			}
		}
		printSeedsTable(out, runs[0][s].sc, o.scale, rows)
	}
	return n
}

// spread is a column's median and range over seeds.
type spread struct{ med, lo, hi float64 }

func spreadOf(xs []float64) spread {
	xs = slices.Clone(xs)
	slices.Sort(xs) // +Inf ("never") sorts last
	m := len(xs) / 2
	med := xs[m]
	if len(xs)%2 == 0 {
		med = (xs[m-1] + xs[m]) / 2
	}
	return spread{med, xs[0], xs[len(xs)-1]}
}

// format writes s with f, the median with the unit, the range without,
// e.g. "99.99% [99.98–100.00]".
func (s spread) format(f func(float64) string, unit string) string {
	m := f(s.med)
	if !math.IsInf(s.med, 0) && !math.IsNaN(s.med) {
		m += unit
	}
	return m + " [" + f(s.lo) + "–" + f(s.hi) + "]"
}

// printSeedsTable writes one scenario's table over seeds; rows[c] holds
// contestant c's result per seed, the oracle's first. Regret and Δmean are
// taken against the oracle of the same seed.
func printSeedsTable(w io.Writer, sc *scenario, scale float64, rows [][]*result) {
	tw := printHeader(w, sc, scale)
	pct := func(d int) func(float64) string {
		return func(x float64) string { return fmt.Sprintf("%.*f", d, 100*x) }
	}
	num := func(format string) func(float64) string {
		return func(x float64) string { return fmt.Sprintf(format, x) }
	}
	secs := func(x float64) string {
		if s := seconds(x); s != "never" && s != "-" {
			return s[:len(s)-1]
		}
		return seconds(x)
	}
	oracle := rows[0]
	for _, rs := range rows {
		col := func(f func(i int, r *result) float64) spread {
			xs := make([]float64, len(rs))
			for i, r := range rs {
				xs[i] = f(i, r)
			}
			return spreadOf(xs)
		}
		cells := []string{
			rs[0].contestant.name,
			col(func(_ int, r *result) float64 { return r.firstOK }).format(pct(2), "%"),
			col(func(_ int, r *result) float64 { return r.finalOK }).format(pct(3), "%"),
			col(func(_ int, r *result) float64 { return r.mean }).format(num("%.2f"), "ms"),
			col(func(_ int, r *result) float64 { return r.p50 }).format(num("%.2f"), "ms"),
			col(func(_ int, r *result) float64 { return r.p99 }).format(num("%.2f"), "ms"),
			col(func(_ int, r *result) float64 { return r.p999 }).format(num("%.2f"), "ms"),
			col(func(_ int, r *result) float64 { return r.attempts }).format(num("%.3f"), ""),
			col(func(i int, r *result) float64 { return (oracle[i].firstOK - r.firstOK) * 1000 }).format(num("%.1f"), ""),
			col(func(i int, r *result) float64 { return r.mean - oracle[i].mean }).format(num("%+.2f"), "ms"),
		}
		if sc.watch != nil {
			cells = append(cells,
				col(func(_ int, r *result) float64 { return r.shun }).format(secs, "s"),
				col(func(_ int, r *result) float64 { return r.back }).format(secs, "s"))
		}
		if sc.settled {
			cells = append(cells, col(func(_ int, r *result) float64 { return r.settled }).format(pct(3), "%"))
		}
		line := ""
		for _, c := range cells {
			line += c + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

// medianOf is the median of a column over seeds, for the tests.
func medianOf(rs []*result, f func(*result) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	return spreadOf(xs).med
}
