package statuspage

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// The history's defaults: the last fifteen minutes, one sample a second.
const (
	// DefaultHistoryWindow is how far back the page's charts reach.
	DefaultHistoryWindow = 15 * time.Minute
	// DefaultHistoryResolution is the interval between two samples: the
	// interval over which requests/s, error %, p50/p99 and share are
	// computed.
	DefaultHistoryResolution = time.Second
	// maxHistorySamples bounds window/resolution (a day at 1 s).
	maxHistorySamples = 24 * 60 * 60
	// maxEvents bounds the add/remove markers kept per balancer.
	maxEvents = 256
)

// RetrierSource is what the page needs of a retrier; *retry.Retrier
// satisfies it.
type RetrierSource interface {
	Stats() retry.Stats
}

// The series kept for every host, in the order of a hostHistory's data.
const (
	seriesRPS = iota
	seriesErrPct
	seriesP50
	seriesP99
	seriesInFlight
	seriesScore
	seriesShare
	hostSeries
)

var hostSeriesNames = [hostSeries]string{"rps", "errorPct", "p50Ms", "p99Ms", "inFlight", "score", "share"}

// The series kept for every balancer.
const (
	seriesRetries = iota
	seriesBudgetExhausted
	seriesHedges
	seriesInstances
	seriesSubsetChanges
	balancerSeries
)

var balancerSeriesNames = [balancerSeries]string{"retriesPerSec", "budgetExhaustedPerSec", "hedgesPerSec", "instances", "subsetChanges"}

// history is the page's server-side memory: every resolution, a sample of
// every balancer's hosts into fixed-size rings, so the memory it takes is
// fixed per host whatever the uptime. A host's rings are kept until its
// last sample has left the window.
type history struct {
	n   int // samples per ring
	res time.Duration

	mu    sync.Mutex
	ticks uint64  // samples taken; the last one is ticks-1
	times []int64 // ring: unix milliseconds of each sample
	bals  []*balancerHistory

	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

type balancerHistory struct {
	name    string
	src     BalancerSource
	retrier RetrierSource // nil without WithRetrier
	subset  SubsetSource  // nil without WithSubset

	hosts  []*hostHistory // in order of first appearance
	byAddr map[string]*hostHistory
	data   []float32   // balancerSeries rings of n
	events []event     // ring of maxEvents
	nev    uint64      // events recorded
	prev   retry.Stats // the retrier's counters at the last sample

	prevSubsetChanges uint64 // the subset's Changes at the last sample
}

type hostHistory struct {
	addr     string
	last     uint64 // the last tick the host was in the balancer's status
	present  bool
	prevReq  uint64
	prevFail uint64
	prevLat  strategy.LatencyHistogram
	data     []float32 // hostSeries rings of n, NaN where there is no value
}

// event is an add/remove marker.
type event struct {
	tick  uint64
	added bool
	addr  string
}

func newHistory(window, res time.Duration) *history {
	n := int(window / res)
	return &history{n: n, res: res, times: make([]int64, n), done: make(chan struct{})}
}

func (h *history) addBalancer(name string, src BalancerSource) *balancerHistory {
	b := &balancerHistory{name: name, src: src, byAddr: map[string]*hostHistory{}, data: nanRing(balancerSeries * h.n), events: make([]event, maxEvents)}
	h.bals = append(h.bals, b)
	return b
}

func nanRing(n int) []float32 {
	r := make([]float32, n)
	nan := float32(math.NaN())
	for i := range r {
		r[i] = nan
	}
	return r
}

// start takes the first sample now and one every resolution until close.
func (h *history) start() {
	h.sample(time.Now())
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(h.res)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				h.sample(now)
			case <-h.done:
				return
			}
		}
	}()
}

func (h *history) close() {
	h.once.Do(func() {
		close(h.done)
		h.wg.Wait()
	})
}

// sample reads every balancer now and records one sample.
func (h *history) sample(now time.Time) {
	sts := make([]loadbalancer.Status, len(h.bals))
	rss := make([]retry.Stats, len(h.bals))
	subChanges := make([]uint64, len(h.bals))
	for i, b := range h.bals { // outside the lock: sources may be slow
		sts[i] = b.src.Status()
		if b.retrier != nil {
			rss[i] = b.retrier.Stats()
		}
		if b.subset != nil {
			subChanges[i] = b.subset.Stats().Changes
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	tick := h.ticks
	h.ticks++
	slot := int(tick % uint64(h.n))
	h.times[slot] = now.UnixMilli()
	secs := float32(h.res.Seconds())
	for i, b := range h.bals {
		b.sample(h, tick, slot, secs, &sts[i], rss[i])
		b.sampleSubset(h, tick, slot, subChanges[i])
	}
}

// sample records one balancer's sample: tick's values at slot of its rings.
// The first sample (tick 0) only notes the counters: there is no interval
// before it, and its hosts get no add marker.
func (b *balancerHistory) sample(h *history, tick uint64, slot int, secs float32, s *loadbalancer.Status, rs retry.Stats) {
	nan := float32(math.NaN())
	baseline := tick == 0
	// Requests per host in the interval, for the share.
	deltas := make([]uint64, len(s.Hosts))
	var total uint64
	for i, hs := range s.Hosts {
		hh := b.byAddr[hs.Address]
		if hh == nil {
			hh = &hostHistory{addr: hs.Address, data: nanRing(hostSeries * h.n)}
			b.byAddr[hs.Address] = hh
			b.hosts = append(b.hosts, hh)
			if !baseline {
				b.event(tick, true, hs.Address)
			}
		} else if !hh.present {
			b.event(tick, true, hs.Address)
			hh.prevReq, hh.prevFail, hh.prevLat = 0, 0, strategy.LatencyHistogram{} // a new host under the old address
		}
		deltas[i] = since(hs.Requests, hh.prevReq)
		total += deltas[i]
	}
	seen := make(map[string]bool, len(s.Hosts))
	for i, hs := range s.Hosts {
		hh := b.byAddr[hs.Address]
		seen[hs.Address] = true
		hh.present, hh.last = true, tick
		d := hh.data
		put := func(series int, v float32) { d[series*h.n+slot] = v }
		for k := range hostSeries {
			put(k, nan)
		}
		put(seriesInFlight, float32(hs.InFlight))
		put(seriesScore, float32(hs.Score))
		if !baseline {
			dReq, dFail := deltas[i], since(hs.Failures, hh.prevFail)
			put(seriesRPS, float32(dReq)/secs)
			if total > 0 {
				put(seriesShare, float32(dReq)/float32(total))
			}
			if dReq > 0 {
				put(seriesErrPct, 100*float32(dFail)/float32(dReq))
				lat := hs.Latencies.Sub(&hh.prevLat)
				if lat.Count() > 0 {
					put(seriesP50, float32(lat.Quantile(0.5).Seconds()*1000))
					put(seriesP99, float32(lat.Quantile(0.99).Seconds()*1000))
				}
			}
		}
		hh.prevReq, hh.prevFail, hh.prevLat = hs.Requests, hs.Failures, hs.Latencies
	}
	// Hosts gone from the status: a remove marker, no values, and
	// forgotten once their last sample has left the window.
	kept := b.hosts[:0]
	for _, hh := range b.hosts {
		if !seen[hh.addr] {
			if hh.present {
				hh.present = false
				b.event(tick, false, hh.addr)
			}
			if tick-hh.last >= uint64(h.n) {
				delete(b.byAddr, hh.addr)
				continue
			}
			for k := range hostSeries {
				hh.data[k*h.n+slot] = nan
			}
		}
		kept = append(kept, hh)
	}
	clear(b.hosts[len(kept):])
	b.hosts = kept

	put := func(series int, v float32) { b.data[series*h.n+slot] = v }
	put(seriesInstances, float32(len(s.Hosts)+len(s.FactoryFailures)))
	for _, k := range []int{seriesRetries, seriesBudgetExhausted, seriesHedges} {
		put(k, nan)
	}
	if b.retrier != nil && !baseline {
		put(seriesRetries, float32(since(rs.Retries, b.prev.Retries))/secs)
		put(seriesBudgetExhausted, float32(since(rs.BudgetExhausted, b.prev.BudgetExhausted))/secs)
		put(seriesHedges, float32(since(rs.Hedges, b.prev.Hedges))/secs)
	}
	b.prev = rs
}

// sampleSubset records the backends that entered or left the balancer's
// subset in the interval (a count, not a rate: they are few and
// discrete); no value without WithSubset or at the first sample.
func (b *balancerHistory) sampleSubset(h *history, tick uint64, slot int, changes uint64) {
	v := float32(math.NaN())
	if b.subset != nil && tick > 0 {
		v = float32(since(changes, b.prevSubsetChanges))
	}
	b.data[seriesSubsetChanges*h.n+slot] = v
	b.prevSubsetChanges = changes
}

// since is the increase of a cumulative counter from prev to cur; a
// counter that went down started again from zero.
func since(cur, prev uint64) uint64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

func (b *balancerHistory) event(tick uint64, added bool, addr string) {
	b.events[b.nev%maxEvents] = event{tick: tick, added: added, addr: addr}
	b.nev++
}

// History is the JSON document of the page's server-side history
// (history.json): the sample times, oldest first, and for every balancer
// and host one value per sample in each series, null where there is none
// (before a host appeared, after it left, or an interval without requests
// for error % and latency).
type History struct {
	ResolutionMs int64             `json:"resolutionMs"`
	WindowMs     int64             `json:"windowMs"`
	Times        []int64           `json:"times"` // unix milliseconds
	Balancers    []BalancerHistory `json:"balancers"`
}

// BalancerHistory is one balancer's history: its own series
// (retriesPerSec, budgetExhaustedPerSec and hedgesPerSec from its retrier,
// instances, and subsetChanges, the backends that entered or left its
// subset in the interval, from WithSubset), its hosts' and the add/remove
// markers.
type BalancerHistory struct {
	Name   string            `json:"name"`
	Series map[string]Series `json:"series"`
	Hosts  []HostHistory     `json:"hosts"`
	Events []Event           `json:"events"`
}

// HostHistory is one host's series: rps (requests completed per second),
// errorPct (failed per hundred completed), p50Ms and p99Ms (latency
// quantiles of the interval's calls, from strategy.HostStats.Latencies),
// inFlight, score (strategy.HostStats.Score, the balancer's score) and
// share (the host's part of the requests the balancer completed in the
// interval). Present is false for a host that has left the balancer and is
// kept until its last sample leaves the window.
type HostHistory struct {
	Address string            `json:"address"`
	Present bool              `json:"present"`
	Series  map[string]Series `json:"series"`
}

// Event is an add or remove marker: Kind is "add" or "remove".
type Event struct {
	TimeMs  int64  `json:"time"`
	Kind    string `json:"kind"`
	Address string `json:"address"`
}

// Series is one value per sample; NaN means no value and is null in JSON.
type Series []float32

// MarshalJSON writes the series with null for NaN and 4 significant digits.
func (s Series) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, 2+6*len(s))
	out = append(out, '[')
	for i, v := range s {
		if i > 0 {
			out = append(out, ',')
		}
		if v != v || math.IsInf(float64(v), 0) {
			out = append(out, "null"...)
			continue
		}
		out = strconv.AppendFloat(out, float64(v), 'g', 4, 32)
	}
	return append(out, ']'), nil
}

// snapshot returns the samples taken after sinceMs (unix milliseconds; 0
// for all that the window holds).
func (h *history) snapshot(sinceMs int64) History {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := History{ResolutionMs: h.res.Milliseconds(), WindowMs: h.res.Milliseconds() * int64(h.n), Times: []int64{}, Balancers: []BalancerHistory{}}
	lo := uint64(0)
	if h.ticks > uint64(h.n) {
		lo = h.ticks - uint64(h.n)
	}
	for lo < h.ticks && h.times[lo%uint64(h.n)] <= sinceMs {
		lo++
	}
	slots := make([]int, 0, h.ticks-lo)
	for t := lo; t < h.ticks; t++ {
		slots = append(slots, int(t%uint64(h.n)))
		out.Times = append(out.Times, h.times[t%uint64(h.n)])
	}
	pick := func(data []float32, series int) Series {
		s := make(Series, len(slots))
		for i, slot := range slots {
			s[i] = data[series*h.n+slot]
		}
		return s
	}
	for _, b := range h.bals {
		bh := BalancerHistory{Name: b.name, Series: map[string]Series{}, Hosts: []HostHistory{}, Events: []Event{}}
		for k, name := range balancerSeriesNames {
			bh.Series[name] = pick(b.data, k)
		}
		for _, hh := range b.hosts {
			hs := HostHistory{Address: hh.addr, Present: hh.present, Series: map[string]Series{}}
			for k, name := range hostSeriesNames {
				hs.Series[name] = pick(hh.data, k)
			}
			bh.Hosts = append(bh.Hosts, hs)
		}
		first := uint64(0)
		if b.nev > maxEvents {
			first = b.nev - maxEvents
		}
		for i := first; i < b.nev; i++ {
			e := b.events[i%maxEvents]
			if e.tick < lo {
				continue
			}
			kind := "remove"
			if e.added {
				kind = "add"
			}
			bh.Events = append(bh.Events, Event{TimeMs: h.times[e.tick%uint64(h.n)], Kind: kind, Address: e.addr})
		}
		out.Balancers = append(out.Balancers, bh)
	}
	return out
}

// latest returns a host's values at the last sample, NaN where there are
// none or the host is unknown.
func (h *history) latest(balancer int, addr string) (v [hostSeries]float32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range v {
		v[k] = float32(math.NaN())
	}
	hh := h.bals[balancer].byAddr[addr]
	if hh == nil || h.ticks == 0 {
		return v
	}
	slot := int((h.ticks - 1) % uint64(h.n))
	for k := range v {
		v[k] = hh.data[k*h.n+slot]
	}
	return v
}

// latestBalancer returns balancer i's own series at the last sample.
func (h *history) latestBalancer(i int) (v [balancerSeries]float32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range v {
		v[k] = float32(math.NaN())
	}
	if h.ticks == 0 {
		return v
	}
	slot := int((h.ticks - 1) % uint64(h.n))
	for k := range v {
		v[k] = h.bals[i].data[k*h.n+slot]
	}
	return v
}
