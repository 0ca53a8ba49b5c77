package strategy

import (
	"testing"
	"time"
)

// BenchmarkLatencyHistogramRecord is what the histogram adds to Record:
// the bucket index and two atomic adds (the bucket and the sum).
func BenchmarkLatencyHistogramRecord(b *testing.B) {
	var c LatencyCounter
	d := 1234 * time.Microsecond
	b.ReportAllocs()
	for b.Loop() {
		c.Record(d)
	}
}

// Every latency lands in the bucket whose bounds hold it.
func TestLatencyBucketHoldsLatency(t *testing.T) {
	for ns := int64(0); ns < int64(200*time.Second); ns = ns*9/8 + 1 {
		i := latencyBucket(ns)
		if lo := int64(LatencyBucketLower(i)); ns < lo {
			t.Fatalf("%d ns in bucket %d, which starts at %d", ns, i, lo)
		}
		if hi := int64(LatencyBucketLower(i + 1)); i < LatencyBuckets-1 && ns >= hi {
			t.Fatalf("%d ns in bucket %d, which ends at %d", ns, i, hi)
		}
	}
}
