package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// binWidth is the resolution of the traffic record.
const binWidth = int64(100 * time.Millisecond)

// metrics is what one run records.
type metrics struct {
	requests, firstOK, finalOK, attempts int
	latencies                            []float64 // per request, milliseconds, retries included
	traffic                              [][]int32 // attempts started, per bin, per backend
	binRequests, binFirstOK              []int32   // requests completed per bin, and first-attempt successes
	marks                                []int64   // scenario event times
	members                              int       // backends in the set at the end
}

func newMetrics(end int64, backends int) *metrics {
	bins := int((end + binWidth - 1) / binWidth)
	m := &metrics{
		traffic:     make([][]int32, bins),
		binRequests: make([]int32, bins),
		binFirstOK:  make([]int32, bins),
	}
	for i := range m.traffic {
		m.traffic[i] = make([]int32, backends)
	}
	return m
}

func (m *metrics) attempt(now int64, backend int) { m.traffic[now/binWidth][backend]++ }

func (m *metrics) mark(now int64) { m.marks = append(m.marks, now) }

func (m *metrics) request(now int64, r *request, ok bool) {
	if now/binWidth >= int64(len(m.binRequests)) {
		return
	}
	m.requests++
	m.attempts += r.attempts
	b := now / binWidth
	m.binRequests[b]++
	if ok {
		m.finalOK++
		if r.attempts == 1 {
			m.firstOK++
			m.binFirstOK[b]++
		}
	}
	m.latencies = append(m.latencies, float64(now-r.start)/1e6)
}

// result is one row of a scenario's table.
type result struct {
	contestant contestant
	m          *metrics
	firstOK    float64 // share of requests whose first attempt succeeded
	finalOK    float64 // share that succeeded within the retries
	mean       float64 // latencies in milliseconds
	p50, p99   float64
	p999       float64
	attempts   float64 // per request
	shun, back float64 // seconds; NaN if not watched, +Inf if never
	settled    float64 // first-try success after the first 10% of requests; NaN if not asked
}

func summarize(sc *scenario, c contestant, m *metrics, scale float64) *result {
	r := &result{contestant: c, m: m, shun: math.NaN(), back: math.NaN(), settled: math.NaN()}
	if m.requests == 0 {
		return r
	}
	n := float64(m.requests)
	r.firstOK, r.finalOK = float64(m.firstOK)/n, float64(m.finalOK)/n
	r.attempts = float64(m.attempts) / n
	lat := slices.Clone(m.latencies)
	slices.Sort(lat)
	var sum float64
	for _, x := range lat {
		sum += x
	}
	r.mean = sum / n
	q := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	r.p50, r.p99, r.p999 = q(0.5), q(0.99), q(0.999)
	if sc.settled {
		r.settled = settledFirstOK(m)
	}
	if w := sc.watch; w != nil {
		r.shun, r.back = watchTimes(m, w.backend, int64(float64(w.bad)*scale), int64(float64(w.good)*scale))
	}
	return r
}

// settledFirstOK is the share of first-try successes among the requests
// completed after the first 10% (to the resolution of a bin).
func settledFirstOK(m *metrics) float64 {
	var seen, n, ok int
	for b, c := range m.binRequests {
		if seen >= m.requests/10 {
			n += int(c)
			ok += int(m.binFirstOK[b])
		}
		seen += int(c)
	}
	if n == 0 {
		return math.NaN()
	}
	return float64(ok) / float64(n)
}

// watchTimes measures, over a trailing half second, how long after going
// bad the watched backend's share of attempts first fell below 5%, and how
// long after recovering it first got back to half its fair share.
func watchTimes(m *metrics, backend int, bad, good int64) (shun, back float64) {
	const window = 5 // bins
	share := func(end int) float64 {
		var mine, all int32
		for b := max(0, end-window); b < end; b++ {
			mine += m.traffic[b][backend]
			for _, c := range m.traffic[b] {
				all += c
			}
		}
		if all == 0 {
			return 0
		}
		return float64(mine) / float64(all)
	}
	find := func(from, until int64, ok func(float64) bool) float64 {
		for end := int(from/binWidth) + 1; int64(end)*binWidth <= until && end <= len(m.traffic); end++ {
			if ok(share(end)) {
				return float64(int64(end)*binWidth-from) / 1e9
			}
		}
		return math.Inf(1)
	}
	fair := 1 / float64(max(m.members, 1))
	shun = find(bad, good, func(s float64) bool { return s < 0.05 })
	back = find(good, int64(len(m.traffic))*binWidth, func(s float64) bool { return s >= fair/2 })
	return shun, back
}

// printTable writes one scenario's results, with regret against the oracle
// (the first row).
func printTable(w io.Writer, sc *scenario, scale float64, rs []*result) {
	tw := printHeader(w, sc, scale)
	oracle := rs[0]
	for _, r := range rs {
		regret := (oracle.firstOK - r.firstOK) * 1000
		line := fmt.Sprintf("%s\t%.2f%%\t%.3f%%\t%.2fms\t%.2fms\t%.2fms\t%.2fms\t%.3f\t%.1f\t%+.2fms\t",
			r.contestant.name, 100*r.firstOK, 100*r.finalOK, r.mean, r.p50, r.p99, r.p999, r.attempts,
			regret, r.mean-oracle.mean)
		if sc.watch != nil {
			line += seconds(r.shun) + "\t" + seconds(r.back) + "\t"
		}
		if sc.settled {
			line += fmt.Sprintf("%.3f%%\t", 100*r.settled)
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

func seconds(s float64) string {
	switch {
	case math.IsNaN(s):
		return "-"
	case math.IsInf(s, 1):
		return "never"
	}
	return fmt.Sprintf("%.1fs", s)
}

// legend explains the columns once.
func legend(w io.Writer) {
	fmt.Fprintln(w, strings.TrimSpace(`
Each client calls through go-kit's Retry(3, 1s, balancer), simulated: an
attempt that fails is retried at once with a new pick (which may land on the
same backend), up to 3 attempts within 1 s. Backends serve a limited number of
calls at once and queue the rest. Time is simulated; nothing sleeps.
  ok 1st    requests whose first attempt succeeded (success before retry)
  ok retry  requests that succeeded within the 3 attempts
  latency   per request, retries included
  att/req   attempts per request
  regret    first-attempt failures per 1000 requests above the oracle's
  Δmean     mean latency above the oracle's
  shun      time from the watched backend turning bad until its traffic share
            (over the last 0.5 s) fell below 5%
  back      time from its recovery until its share was back to half its fair share
  ok 1st after 10%  first-attempt success over the requests after the first 10%
The oracle knows every backend's true failure rate, latency and queue, and picks
the quickest of the most reliable. Baselines: go-kit's lb.NewRoundRobin and
lb.NewRandom. "+lat" rows score outcomes with strategy.LatencyScorer(2ms)
instead of ErrorScorer.`))
}

// printHeader writes a scenario's title and events, and returns a table
// writer with the column heads written: the one header of printTable and
// printSeedsTable.
func printHeader(w io.Writer, sc *scenario, scale float64) *tabwriter.Writer {
	fmt.Fprintf(w, "\n== %s: %s; %v simulated\n", sc.name, sc.title, time.Duration(float64(sc.duration)*scale).Round(time.Second))
	for _, ev := range sc.events {
		if len(sc.events) > 4 {
			fmt.Fprintf(w, "   events: %d scripted (first: %s at %v)\n", len(sc.events), ev.what, ev.at)
			break
		}
		fmt.Fprintf(w, "   at %v: %s\n", time.Duration(float64(ev.at)*scale), ev.what)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "strategy\tok 1st\tok retry\tmean\tp50\tp99\tp99.9\tatt/req\tregret\tΔmean\t"
	if sc.watch != nil {
		head += "shun\tback\t"
	}
	if sc.settled {
		head += "ok 1st after 10%\t"
	}
	fmt.Fprintln(tw, head)
	return tw
}
