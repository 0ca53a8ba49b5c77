package strategy_test

import (
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// Bucket bounds increase, the first four are 256 ns wide, and no bucket
// above them is wider than a quarter of its lower bound.
func TestLatencyBucketBounds(t *testing.T) {
	if strategy.LatencyBucketLower(0) != 0 || strategy.LatencyBucketLower(1) != 256 || strategy.LatencyBucketLower(4) != time.Microsecond+24 {
		t.Fatalf("first bounds %v %v %v", strategy.LatencyBucketLower(0), strategy.LatencyBucketLower(1), strategy.LatencyBucketLower(4))
	}
	for i := 1; i < strategy.LatencyBuckets; i++ {
		lo, hi := strategy.LatencyBucketLower(i), strategy.LatencyBucketLower(i+1)
		if hi <= lo {
			t.Fatalf("bucket %d: [%v, %v) not increasing", i, lo, hi)
		}
		if i >= 4 && float64(hi-lo) > 0.25*float64(lo)+1e-9 {
			t.Fatalf("bucket %d: [%v, %v) wider than 25%%", i, lo, hi)
		}
	}
	if top := strategy.LatencyBucketLower(strategy.LatencyBuckets - 1); top < 100*time.Second {
		t.Fatalf("last bucket starts at %v, want latencies up to 100 s resolved", top)
	}
}

// Every latency lands in the bucket whose bounds hold it, and quantiles of
// a known distribution come out within a bucket's width.
func TestLatencyHistogramQuantiles(t *testing.T) {
	h, err := strategy.NewHost("127.0.0.1:1", 1)
	if err != nil {
		t.Fatal(err)
	}
	// 1..1000 ms, one call each: p50 500 ms, p99 990 ms.
	for ms := 1; ms <= 1000; ms++ {
		strategy.Observe(h, strategy.Now(h), time.Duration(ms)*time.Millisecond, false, 1)
	}
	first := h.Stats().Latencies
	if n := first.Count(); n != 1000 {
		t.Fatalf("count %d, want 1000", n)
	}
	for q, want := range map[float64]time.Duration{0.5: 500 * time.Millisecond, 0.99: 990 * time.Millisecond, 0.001: time.Millisecond} {
		got := first.Quantile(q)
		if d := float64(got - want); d > 0.25*float64(want) || d < -0.25*float64(want) {
			t.Errorf("q%v = %v, want %v ± 25%%", q, got, want)
		}
	}
	// The difference of two snapshots is the interval's distribution.
	for range 100 {
		strategy.Observe(h, strategy.Now(h), 3*time.Second, true, 0)
	}
	second := h.Stats().Latencies
	d := second.Sub(&first)
	if d.Count() != 100 {
		t.Fatalf("interval count %d, want 100", d.Count())
	}
	if p := d.Quantile(0.5); p < 2250*time.Millisecond || p > 3750*time.Millisecond {
		t.Fatalf("interval p50 %v, want 3 s ± 25%%", p)
	}
	if back := first.Sub(&second); back.Count() != 0 {
		t.Fatalf("reversed difference counts %d, want 0", back.Count())
	}
	var empty strategy.LatencyHistogram
	if empty.Quantile(0.99) != 0 {
		t.Fatal("quantile of nothing is not 0")
	}
	// Outliers beyond the last bucket and below zero are still counted.
	strategy.Observe(h, strategy.Now(h), time.Hour, false, 1)
	strategy.Observe(h, strategy.Now(h), -time.Second, false, 1)
	st := h.Stats()
	third := st.Latencies
	// 1..1000 ms, 100 × 3 s and an hour; the negative one counts as 0.
	if want := 500500*time.Millisecond + 300*time.Second + time.Hour; st.LatencySum != want {
		t.Fatalf("latency sum %v, want %v", st.LatencySum, want)
	}
	if d := third.Sub(&second); d[strategy.LatencyBuckets-1] != 1 || d[0] != 1 {
		t.Fatalf("outliers not in the end buckets: last %d first %d", d[strategy.LatencyBuckets-1], d[0])
	}
}

// A call the caller cancelled is not a latency of the host's.
func TestLatencyHistogramSkipsAbandoned(t *testing.T) {
	h, _ := strategy.NewHost("127.0.0.1:1", 1)
	h.Abandon(h.Begin())
	h.Record(nil, h.Begin(), nil)
	st := h.Stats()
	if n := st.Latencies.Count(); n != 1 {
		t.Fatalf("count %d, want 1", n)
	}
}

// A LatencyCounter counts what it records and what it is added, with the
// sum of both, into the same buckets a Host uses.
func TestLatencyCounter(t *testing.T) {
	var c strategy.LatencyCounter
	c.Record(3 * time.Millisecond)
	c.Record(-time.Second) // counts as 0
	h, sum := c.Snapshot()
	if h.Count() != 2 || sum != 3*time.Millisecond {
		t.Fatalf("after two records: count %d sum %v, want 2 and 3ms", h.Count(), sum)
	}
	if h[0] != 1 {
		t.Fatalf("the negative latency is not in the first bucket: %v", h[:4])
	}
	c.Add(&h, sum)
	h2, sum2 := c.Snapshot()
	if h2.Count() != 4 || sum2 != 6*time.Millisecond {
		t.Fatalf("after adding itself: count %d sum %v, want 4 and 6ms", h2.Count(), sum2)
	}
	if q := h2.Quantile(1); q < 3*time.Millisecond*3/4 || q > 3*time.Millisecond*5/4 {
		t.Fatalf("max %v, want 3ms ± 25%%", q)
	}
}
