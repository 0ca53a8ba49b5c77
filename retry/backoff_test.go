package retry

import (
	"math"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	maxOf := func(n int64) int64 { return n - 1 }
	for k, want := range map[int]time.Duration{1: 10, 2: 20, 3: 40, 5: 100, 60: 100} {
		if got := fullJitter(k, 10, 100, maxOf); got != want {
			t.Errorf("ceiling of retry %d = %v, want %v", k, got, want)
		}
	}
	if got := fullJitter(3, 10, 100, func(int64) int64 { return 0 }); got != 0 {
		t.Errorf("full jitter floor = %v, want 0", got)
	}
	if got := exponential(200, time.Second, math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("exponential overflowed: %v", got)
	}
	for range 1000 {
		if d := fullJitter(4, time.Millisecond, time.Second, randInt64N); d < 0 || d > 8*time.Millisecond {
			t.Fatalf("jittered wait %v outside [0, 8ms]", d)
		}
	}
}
