package retry

import (
	"math"
	"testing"
	"time"
)

func TestLatencyBuckets(t *testing.T) {
	prev := -1
	for _, d := range []time.Duration{0, 1, 15, 16, 17, 100, time.Microsecond, time.Millisecond, time.Second, time.Hour, math.MaxInt64} {
		i := latencyIndex(d)
		if i < prev || i >= latencyBuckets {
			t.Fatalf("latencyIndex(%v) = %d (previous %d)", d, i, prev)
		}
		prev = i
		if up := latencyUpper(i); up < int64(d) || (d > 16 && float64(up) > float64(d)*1.13) {
			t.Fatalf("bucket %d of %v has upper bound %v", i, d, time.Duration(up))
		}
	}
}

func TestLatencyTrackerPercentile(t *testing.T) {
	tr := newLatencyTracker(0.9, 5*time.Millisecond, time.Minute, 0)
	if tr.Delay() != 5*time.Millisecond {
		t.Fatalf("initial delay %v", tr.Delay())
	}
	now := int64(time.Second)
	// 1..100 ms: the 90th percentile is 90 ms.
	for i := 1; i <= 100; i++ {
		tr.record(now, time.Duration(i)*time.Millisecond)
	}
	tr.recompute()
	if d := tr.Delay(); d < 88*time.Millisecond || d > 102*time.Millisecond {
		t.Fatalf("p90 of 1..100ms = %v", d)
	}
	// Two windows later, only the new samples count.
	now += int64(2*time.Minute) + 1
	tr.record(now, time.Millisecond)
	now += int64(time.Minute) + 1
	for range 100 {
		tr.record(now, 2*time.Millisecond)
	}
	tr.recompute()
	if d := tr.Delay(); d < 2*time.Millisecond || d > 3*time.Millisecond {
		t.Fatalf("p90 after the window moved = %v, want about 2ms", d)
	}
}
