package strategy

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// LatencyBuckets is the number of buckets of a LatencyHistogram. The first
// four are 256 ns wide (latencies below 1 µs); above that every doubling of
// latency is split into four buckets, so a bucket is at most 25% wider
// than its lower bound, up to the last bucket, which holds every latency
// from LatencyBucketLower(LatencyBuckets-1) (about 137 s) on.
const LatencyBuckets = 112

// latencyUnitShift is log2 of the width, in nanoseconds, of the first
// buckets.
const latencyUnitShift = 8

// LatencyHistogram counts the latencies of a host's recorded calls (those
// Record and RecordScore observed, not the abandoned ones) in fixed
// logarithmic buckets (LatencyBucketLower gives their bounds), since the
// host was made. It is a plain value, part of HostStats; the difference of
// two snapshots (Sub) is the distribution over the time between them, from
// which Quantile estimates p50 or p99 of that interval.
type LatencyHistogram [LatencyBuckets]uint64

// latencyBucket returns the bucket of a latency in nanoseconds.
func latencyBucket(ns int64) int {
	if ns < 0 {
		ns = 0
	}
	v := uint64(ns) >> latencyUnitShift
	if v < 4 {
		return int(v)
	}
	e := bits.Len64(v) // at least 3
	i := (e-2)*4 + int(v>>(e-3)&3)
	if i >= LatencyBuckets {
		return LatencyBuckets - 1
	}
	return i
}

// LatencyBucketLower returns the smallest latency that bucket i counts;
// bucket i holds latencies from LatencyBucketLower(i) up to, not including,
// LatencyBucketLower(i+1). It returns 0 for i ≤ 0, and for i ≥
// LatencyBuckets the upper bound of the last bucket but one.
func LatencyBucketLower(i int) time.Duration {
	switch {
	case i <= 0:
		return 0
	case i >= LatencyBuckets:
		i = LatencyBuckets
	}
	if i < 4 {
		return time.Duration(i << latencyUnitShift)
	}
	e, m := i/4+2, i%4
	return time.Duration(uint64(4+m) << (e - 3) << latencyUnitShift)
}

// LatencyCounter is a live LatencyHistogram with the sum of its
// latencies: Record is two atomic adds, with no lock, so it suits a request
// path; Snapshot reads it. Every Host keeps one (HostStats.Latencies and
// LatencySum are its snapshot); package lbmetrics keeps one per series of
// its Prometheus histograms. The zero value is ready; a LatencyCounter must
// not be copied after first use. It is safe for concurrent use.
type LatencyCounter struct {
	buckets [LatencyBuckets]atomic.Uint64
	sum     atomic.Uint64 // nanoseconds
}

// Record counts one latency; a negative one counts as 0.
func (c *LatencyCounter) Record(latency time.Duration) {
	if latency < 0 {
		latency = 0
	}
	c.buckets[latencyBucket(int64(latency))].Add(1)
	c.sum.Add(uint64(latency))
}

// Add counts every latency of h, whose sum is sum: what a LatencySink does
// with a host's new latencies.
func (c *LatencyCounter) Add(h *LatencyHistogram, sum time.Duration) {
	for i, n := range h {
		if n != 0 {
			c.buckets[i].Add(n)
		}
	}
	if sum > 0 {
		c.sum.Add(uint64(sum))
	}
}

// Snapshot returns the latencies counted so far and their sum. Under
// concurrent Records the two may disagree by the latencies being recorded.
func (c *LatencyCounter) Snapshot() (LatencyHistogram, time.Duration) {
	var h LatencyHistogram
	for i := range c.buckets {
		h[i] = c.buckets[i].Load()
	}
	return h, time.Duration(c.sum.Load())
}

// A LatencySink takes latencies a histogram at a time. When the histogram a
// balancer is given for its per-host request durations is also a
// LatencySink (package lbmetrics' Prometheus histograms are), the balancer
// adds each host's new latencies (the difference of two HostStats) to it
// every metrics interval instead of observing every call, so that the
// histogram costs the request path nothing: the host counts every latency
// anyway.
type LatencySink interface {
	// AddLatencies counts every latency of h, whose sum is sum.
	AddLatencies(h *LatencyHistogram, sum time.Duration)
}

// Count returns the number of latencies counted.
func (h *LatencyHistogram) Count() uint64 {
	var n uint64
	for _, c := range h {
		n += c
	}
	return n
}

// Sub returns the latencies counted in h and not in prev, an earlier
// snapshot of the same host: the distribution of the calls recorded
// between the two. A bucket smaller in h than in prev (prev is not an
// earlier snapshot of the same host) counts 0.
func (h *LatencyHistogram) Sub(prev *LatencyHistogram) LatencyHistogram {
	var d LatencyHistogram
	for i := range h {
		if h[i] > prev[i] {
			d[i] = h[i] - prev[i]
		}
	}
	return d
}

// Quantile estimates the q-quantile (q in [0,1]; 0.5 for the median, 0.99
// for p99) of the latencies counted, interpolating linearly inside the
// bucket it falls in, so the estimate is within one bucket's width (at
// most 25%) of the true value. It returns 0 if nothing was counted. A
// quantile in the last bucket is reported as that bucket's lower bound.
func (h *LatencyHistogram) Quantile(q float64) time.Duration {
	n := h.Count()
	if n == 0 {
		return 0
	}
	switch {
	case q < 0 || q != q:
		q = 0
	case q > 1:
		q = 1
	}
	rank := q * float64(n) // the rank-th latency in increasing order
	var seen float64
	for i, c := range h {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			lo := LatencyBucketLower(i)
			if i == LatencyBuckets-1 {
				return lo
			}
			hi := LatencyBucketLower(i + 1)
			frac := (rank - seen) / float64(c)
			return lo + time.Duration(frac*float64(hi-lo))
		}
		seen += float64(c)
	}
	return LatencyBucketLower(LatencyBuckets - 1)
}
