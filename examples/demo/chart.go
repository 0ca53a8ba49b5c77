package main

import (
	"bytes"
	"fmt"
	"html"
)

// chartSVG draws, per strategy, a stacked bar of how the attempts were spread
// over the backends, with success after retry and p99 latency beside it. It
// is a small SVG writer of our own: the chart is simple enough that a
// plotting library would add more than it saves.
func chartSVG(bs *backends, results []result) []byte {
	const (
		rowH, barW, left, top = 34, 420, 190, 60
		width                 = left + barW + 220
	)
	colors := []string{"#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#b279a2"}
	height := top + rowH*len(results) + 30
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">lbkit demo: where each strategy sent its attempts</text>`+"\n")
	x := left
	for i, bk := range bs.list {
		fmt.Fprintf(&b, `<rect x="%d" y="32" width="12" height="12" fill="%s"/><text x="%d" y="42">%s</text>`+"\n",
			x, colors[i%len(colors)], x+16, html.EscapeString(bk.spec.name))
		x += 90
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">ok after retry · p99</text>`+"\n", left+barW+10, top-6)
	for row, r := range results {
		y := top + row*rowH
		fmt.Fprintf(&b, `<text x="10" y="%d">%s</text>`+"\n", y+18, html.EscapeString(r.name))
		x := float64(left)
		for i, bk := range bs.list {
			w := float64(barW) * float64(r.served[bk.spec.name]) / float64(max(1, r.servedTotal))
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="22" fill="%s"><title>%s %.1f%%</title></rect>`+"\n",
				x, y+4, w, colors[i%len(colors)], html.EscapeString(bk.spec.name), 100*w/barW)
			x += w
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d">%.1f%% · %v</text>`+"\n", left+barW+10, y+20,
			100*float64(r.finalOK)/float64(r.requests), r.p99.Round(100_000))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}
