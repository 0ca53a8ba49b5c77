package lbmetrics

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// LatencyBuckets returns the upper bounds, in seconds, of the request and
// attempt duration histograms: 2^15 ns (32.8 µs) to 2^33 ns (8.6 s), one
// per doubling, which suits RPCs from an in-memory cache to a slow
// cross-region call. They are powers of two of nanoseconds so that they
// fall on bounds of strategy.LatencyHistogram's buckets: a balancer's
// hosts count their latencies in those buckets anyway, and the per-host
// histogram is their sum, exact, at no cost to the request path (see
// strategy.LatencySink).
func LatencyBuckets() []float64 { return bucketSeconds(latencyBounds) }

// latencyBounds and poolBounds are the exposed buckets' upper bounds as
// indexes of strategy.LatencyHistogram's buckets: bucket j of the
// exposition counts the fine buckets below bounds[j].
var (
	latencyBounds = powersOfTwo(15, 33, 1)
	// The time to get a connection: a microsecond for an idle one, up to a
	// dial's seconds, every second doubling.
	poolBounds = powersOfTwo(10, 32, 2)
)

// powersOfTwo returns the fine-bucket indexes of 2^from, 2^(from+step),
// ... 2^to nanoseconds. LatencyBucketLower(4(k-9)) is 2^k ns for k ≥ 10.
func powersOfTwo(from, to, step int) []int {
	var b []int
	for k := from; k <= to; k += step {
		b = append(b, 4*(k-9))
	}
	return b
}

func bucketSeconds(bounds []int) []float64 {
	s := make([]float64, len(bounds))
	for j, i := range bounds {
		s[j] = strategy.LatencyBucketLower(i).Seconds()
	}
	return s
}

// histogramVec is a Prometheus histogram family whose series are
// strategy.LatencyCounters: Observe is two atomic adds with no search, and
// a balancer's per-host series take the hosts' own latency records in bulk
// (AddLatencies). It collects the fine buckets into the exposed ones at
// scrape time.
type histogramVec struct {
	desc    *prometheus.Desc
	bounds  []int
	seconds []float64

	mu     sync.RWMutex
	series map[string]*latencySeries
}

type latencySeries struct {
	lvs []string
	c   strategy.LatencyCounter
}

func newHistogramVec(fqName, help string, labels []string, bounds []int) *histogramVec {
	return &histogramVec{
		desc:    prometheus.NewDesc(fqName, help, labels, nil),
		bounds:  bounds,
		seconds: bucketSeconds(bounds),
		series:  map[string]*latencySeries{},
	}
}

// with returns the series of the label values lvs, made at zero if new.
func (v *histogramVec) with(lvs ...string) *latencySeries {
	key := strings.Join(lvs, "\xff")
	v.mu.RLock()
	s := v.series[key]
	v.mu.RUnlock()
	if s != nil {
		return s
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if s = v.series[key]; s == nil {
		s = &latencySeries{lvs: slices.Clone(lvs)}
		v.series[key] = s
	}
	return s
}

// Describe implements prometheus.Collector.
func (v *histogramVec) Describe(ch chan<- *prometheus.Desc) { ch <- v.desc }

// Collect implements prometheus.Collector.
func (v *histogramVec) Collect(ch chan<- prometheus.Metric) {
	v.mu.RLock()
	all := make([]*latencySeries, 0, len(v.series))
	for _, s := range v.series {
		all = append(all, s)
	}
	v.mu.RUnlock()
	for _, s := range all {
		h, sum := s.c.Snapshot()
		buckets := make(map[float64]uint64, len(v.bounds))
		var n uint64
		j := 0
		for i, c := range h {
			for j < len(v.bounds) && i >= v.bounds[j] {
				buckets[v.seconds[j]] = n
				j++
			}
			n += c
		}
		for ; j < len(v.bounds); j++ {
			buckets[v.seconds[j]] = n
		}
		ch <- prometheus.MustNewConstHistogram(v.desc, n, sum.Seconds(), buckets, s.lvs...)
	}
}

// observe counts a duration given in seconds, as go-kit's Observe does.
func (s *latencySeries) observe(seconds float64) {
	ns := seconds * 1e9
	switch {
	case !(ns > 0): // negative, zero or NaN
		ns = 0
	case ns > math.MaxInt64/2:
		ns = math.MaxInt64 / 2
	}
	s.c.Record(time.Duration(ns))
}
