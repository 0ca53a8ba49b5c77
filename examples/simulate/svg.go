package main

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"time"
)

// The charts are drawn by a small SVG writer of our own. gonum.org/v1/plot
// would draw them too, but it would bring a dozen modules (fonts, image and
// PDF libraries) into the go.mod of a load-balancing library for the sake of
// one example, and two chart types of rectangles, paths and text are little
// code.

var backendColors = []string{
	"#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b",
	"#b279a2", "#ff9da6", "#9d755d", "#bab0ac", "#1b9e77", "#7570b3",
}

var lineColors = []string{
	"#000000", "#888888", "#bbbbbb", "#1f77b4", "#17becf", "#ff7f0e", "#ffbb78",
	"#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#98df8a",
	"#c5b0d5", "#7f7f7f",
}

const (
	chartW       = 1200
	margin       = 20
	cols         = 4
	gap          = 16
	panelW       = (chartW - 2*margin - (cols-1)*gap) / cols
	panelH       = 90
	panelBlock   = 34 + panelH + 20
	lineH        = 240
	lineLegendW  = 250
	maxBuckets   = 60
	panelsTop    = 62
	lineTopSpace = 40
)

// writeChart draws one scenario: per strategy, the share of attempts each
// backend got over time (stacked, 100% high), and below, every strategy's
// cumulative first-attempt success over time.
func writeChart(out io.Writer, sc *scenario, scale float64, rs []*result) error {
	w := bufio.NewWriter(out)
	rows := (len(rs) + cols - 1) / cols
	lineTop := panelsTop + rows*panelBlock + lineTopSpace
	height := lineTop + lineH + 50
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		chartW, height, chartW, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	fmt.Fprintf(w, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", margin, html.EscapeString(sc.name+": "+sc.title))
	x := margin
	fmt.Fprintf(w, `<text x="%d" y="44" fill="#444">traffic share per backend over %v:</text>`+"\n", x, time.Duration(float64(sc.duration)*scale).Round(time.Second))
	x += 230
	for i := range sc.backends {
		fmt.Fprintf(w, `<rect x="%d" y="34" width="11" height="11" fill="%s"/><text x="%d" y="44">b%d</text>`+"\n", x, backendColors[i%len(backendColors)], x+14, i)
		x += 44
	}

	for i, r := range rs {
		px := margin + (i%cols)*(panelW+gap)
		py := panelsTop + (i/cols)*panelBlock
		drawPanel(w, px, py, r)
	}
	drawSuccess(w, margin, lineTop, rs)
	fmt.Fprintln(w, "</svg>")
	return w.Flush()
}

// buckets groups the 100 ms bins so that a chart has at most maxBuckets
// points.
func buckets(bins int) (size, n int) {
	size = max(1, (bins+maxBuckets-1)/maxBuckets)
	return size, (bins + size - 1) / size
}

func drawPanel(w *bufio.Writer, px, py int, r *result) {
	m := r.m
	fmt.Fprintf(w, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", px, py+12, html.EscapeString(r.contestant.name))
	fmt.Fprintf(w, `<text x="%d" y="%d" fill="#444">ok %.2f%% · retry %.3f%% · p99 %.1f ms</text>`+"\n",
		px, py+26, 100*r.firstOK, 100*r.finalOK, r.p99)
	top := py + 34
	fmt.Fprintf(w, `<rect x="%d" y="%d" width="%d" height="%d" fill="#f4f4f4"/>`+"\n", px, top, panelW, panelH)
	size, n := buckets(len(m.traffic))
	if n == 0 {
		return
	}
	backends := len(m.traffic[0])
	// share[b][i]: backend i's share of bucket b's attempts.
	share := make([][]float64, n)
	for b := range share {
		share[b] = make([]float64, backends)
		var total float64
		for k := b * size; k < min(len(m.traffic), (b+1)*size); k++ {
			for i, c := range m.traffic[k] {
				share[b][i] += float64(c)
				total += float64(c)
			}
		}
		for i := range share[b] {
			if total > 0 {
				share[b][i] /= total
			}
		}
	}
	xAt := func(b int) int { return px + panelW*b/n }
	yAt := func(f float64) int { return top + panelH - int(math.Round(f*panelH)) }
	// Layer i is the area under the cumulative share of backends 0..i,
	// painted top layer first, so that each shows as the band between its
	// cumulative share and the one below: a path needs only its upper edge,
	// drawn as steps (one flat segment per bucket).
	cum := make([]float64, n)
	layers := make([][]int, backends)
	for i := range backends {
		layers[i] = make([]int, n)
		for b := range n {
			cum[b] += share[b][i]
			layers[i][b] = yAt(cum[b])
		}
	}
	for i := backends - 1; i >= 0; i-- {
		if i > 0 && slices.Equal(layers[i], layers[i-1]) {
			continue // an empty band: hidden by the layer below anyway
		}
		fmt.Fprintf(w, `<path fill="%s" d="M%d %dV%d`, backendColors[i%len(backendColors)], px, top+panelH, layers[i][0])
		for b := 1; b < n; b++ {
			if layers[i][b] != layers[i][b-1] {
				fmt.Fprintf(w, "H%dV%d", xAt(b), layers[i][b])
			}
		}
		fmt.Fprintf(w, "H%d", xAt(n))
		fmt.Fprintf(w, "V%dZ\"/>\n", top+panelH)
	}
	end := float64(len(m.traffic)) * float64(binWidth)
	for _, t := range m.marks {
		x := float64(px) + float64(panelW)*float64(t)/end
		fmt.Fprintf(w, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-dasharray="3,2"/>`+"\n", x, top, x, top+panelH)
	}
	fmt.Fprintf(w, `<text x="%d" y="%d" fill="#666" font-size="9">0</text><text x="%d" y="%d" fill="#666" font-size="9" text-anchor="end">%.0fs</text>`+"\n",
		px, top+panelH+11, px+panelW, top+panelH+11, end/1e9)
}

func drawSuccess(w *bufio.Writer, left, top int, rs []*result) {
	plotW := chartW - 2*margin - lineLegendW - 40
	x0 := left + 40
	fmt.Fprintf(w, `<text x="%d" y="%d" font-weight="bold">cumulative success of first attempts (%%)</text>`+"\n", left, top-12)
	// curves[k][b]: strategy k's success rate up to the end of bucket b.
	curves := make([][]float64, len(rs))
	lo := 100.0
	for k, r := range rs {
		size, n := buckets(len(r.m.binRequests))
		var req, ok float64
		for b := range n {
			for i := b * size; i < min(len(r.m.binRequests), (b+1)*size); i++ {
				req += float64(r.m.binRequests[i])
				ok += float64(r.m.binFirstOK[i])
			}
			v := 100.0
			if req > 0 {
				v = 100 * ok / req
			}
			curves[k] = append(curves[k], v)
			if b > 0 { // the first bucket is too noisy to set the scale
				lo = min(lo, v)
			}
		}
	}
	// Four grid steps of a round size reach down to the lowest point.
	step := 10.0
	for _, st := range []float64{0.05, 0.1, 0.2, 0.5, 1, 2, 5} {
		if 100-4*st <= lo {
			step = st
			break
		}
	}
	lo = 100 - 4*step
	yAt := func(v float64) float64 { return float64(top) + float64(lineH)*(100-v)/(100-lo) }
	fmt.Fprintf(w, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#ccc"/>`+"\n", x0, top, plotW, lineH)
	for i := range 5 {
		v := lo + (100-lo)*float64(i)/4
		y := yAt(v)
		fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end" fill="#666">%g</text>`+"\n",
			x0, y, x0+plotW, y, x0-4, y+4, math.Round(v*100)/100)
	}
	for k, c := range curves {
		if len(c) == 0 {
			continue
		}
		fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="`, lineColors[k%len(lineColors)])
		for b, v := range c {
			fmt.Fprintf(w, "%.1f,%.1f ", float64(x0)+float64(plotW)*float64(b+1)/float64(len(c)), yAt(max(v, lo)))
		}
		fmt.Fprintln(w, `"/>`)
		ly := top + 6 + k*17
		lx := x0 + plotW + 16
		fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%d" y="%d">%s</text>`+"\n",
			lx, ly, lx+18, ly, lineColors[k%len(lineColors)], lx+24, ly+4, html.EscapeString(fmt.Sprintf("%s %.2f%%", rs[k].contestant.name, 100*rs[k].firstOK)))
	}
	fmt.Fprintf(w, `<text x="%d" y="%d" fill="#666">simulated time →</text>`+"\n", x0, top+lineH+16)
}
