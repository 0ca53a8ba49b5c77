package retry

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Settings of the latency tracker behind WithHedgingPercentile.
const (
	// LatencyWindow is how long a latency sample counts towards the
	// percentile: samples are kept in two generations of this length, and
	// the older is dropped when a new one starts, so the percentile follows
	// the backends' latency within one to two windows.
	LatencyWindow = 10 * time.Second
	// LatencyMinSamples is how many samples the tracker needs before it
	// trusts its percentile over the initial delay.
	LatencyMinSamples = 50
)

// latencyRefresh is how many samples pass between recomputations of the
// percentile; recomputing scans every bucket, so it is not done per sample.
const latencyRefresh = 16

// latencyBuckets covers every positive int64 nanosecond count: 16 exact
// buckets for 0-15 ns, then 8 per power of two (12.5% resolution).
const latencyBuckets = 16 + 60*8

// latencyTracker estimates a percentile of recent attempt latencies without
// locks: a log-linear histogram of atomic counters in two generations.
// Concurrent recording during a generation change may lose a sample or
// two, which a percentile does not notice.
type latencyTracker struct {
	p       float64
	initial int64
	window  int64

	cur      atomic.Uint32
	rotateAt atomic.Int64
	samples  atomic.Uint64
	delay    atomic.Int64
	gens     [2]latencyHist
}

type latencyHist struct {
	counts [latencyBuckets]atomic.Uint32
}

func newLatencyTracker(p float64, initial, window time.Duration, now int64) *latencyTracker {
	t := &latencyTracker{p: p, initial: int64(initial), window: int64(window)}
	t.delay.Store(int64(initial))
	t.rotateAt.Store(now + int64(window))
	return t
}

// Delay returns the current estimate of the percentile, or the initial
// delay until there are enough samples.
func (t *latencyTracker) Delay() time.Duration { return time.Duration(t.delay.Load()) }

// record adds one latency observed at now.
func (t *latencyTracker) record(now int64, d time.Duration) {
	if at := t.rotateAt.Load(); now >= at && t.rotateAt.CompareAndSwap(at, now+t.window) {
		old := 1 - t.cur.Load()
		for i := range t.gens[old].counts {
			t.gens[old].counts[i].Store(0)
		}
		t.cur.Store(old)
		t.recompute()
	}
	t.gens[t.cur.Load()].counts[latencyIndex(d)].Add(1)
	if t.samples.Add(1)%latencyRefresh == 0 {
		t.recompute()
	}
}

func (t *latencyTracker) recompute() {
	var total uint64
	var merged [latencyBuckets]uint64
	for g := range t.gens {
		for i := range t.gens[g].counts {
			c := uint64(t.gens[g].counts[i].Load())
			merged[i] += c
			total += c
		}
	}
	if total < LatencyMinSamples {
		t.delay.Store(t.initial)
		return
	}
	rank := uint64(t.p*float64(total) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range merged {
		if seen += c; seen >= rank {
			t.delay.Store(latencyUpper(i))
			return
		}
	}
}

// latencyIndex returns the histogram bucket of d.
func latencyIndex(d time.Duration) int {
	n := uint64(max(d, 0))
	if n < 16 {
		return int(n)
	}
	l := bits.Len64(n) // 5..64
	shift := l - 4
	mantissa := n >> shift // 8..15
	return 16 + (l-5)*8 + int(mantissa-8)
}

// latencyUpper returns the largest duration in bucket i, the conservative
// choice for a hedge delay.
func latencyUpper(i int) int64 {
	if i < 16 {
		return int64(i)
	}
	i -= 16
	l := i/8 + 5
	mantissa := uint64(i%8 + 8)
	shift := l - 4
	up := (mantissa+1)<<shift - 1
	if up > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(up)
}
