package backoff

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

func TestCeilingDoublesAndCaps(t *testing.T) {
	p := Policy{Min: 10 * time.Millisecond, Max: 70 * time.Millisecond}
	want := []time.Duration{10, 20, 40, 70, 70}
	for i, w := range want {
		if got := p.Ceiling(i + 1); got != w*time.Millisecond {
			t.Errorf("Ceiling(%d) = %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	if got := (Policy{}).Delay(3); got != 0 {
		t.Errorf("zero policy Delay = %v, want 0", got)
	}
}

func TestJitterBounds(t *testing.T) {
	for _, tc := range []struct {
		j      Jitter
		lo, hi time.Duration
	}{{Equal, 50, 100}, {Full, 0, 100}, {None, 100, 100}} {
		p := Policy{Min: 100, Max: 100, Jitter: tc.j}
		seenLo, seenHi := false, false
		for range 2000 {
			d := p.Delay(1)
			if d < tc.lo || d > tc.hi {
				t.Fatalf("jitter %d: delay %v outside [%v,%v]", tc.j, d, tc.lo, tc.hi)
			}
			seenLo = seenLo || d <= tc.lo+(tc.hi-tc.lo)/10
			seenHi = seenHi || d >= tc.hi-(tc.hi-tc.lo)/10
		}
		if !seenLo || !seenHi {
			t.Errorf("jitter %d: delays did not cover [%v,%v]", tc.j, tc.lo, tc.hi)
		}
	}
}

func TestCounterResets(t *testing.T) {
	c := Counter{Policy: Policy{Min: 1, Max: 1 << 20, Jitter: None}}
	for i := 1; i <= 4; i++ {
		if got := c.Next(); got != time.Duration(1<<(i-1)) {
			t.Fatalf("try %d: %v", i, got)
		}
	}
	if c.Tries() != 4 {
		t.Fatalf("Tries = %d", c.Tries())
	}
	c.Reset()
	if got := c.Next(); got != 1 {
		t.Fatalf("after Reset: %v", got)
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled context = %v", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("Sleep = %v", err)
	}
	if err := Sleep(context.Background(), 0); err != nil {
		t.Fatalf("Sleep(0) = %v", err)
	}
}

// Doubling a huge delay must saturate, never wrap negative (which would
// make Delay return 0 and turn back-off into a hot loop).
func TestCeilingSaturates(t *testing.T) {
	for _, p := range []Policy{
		{Min: time.Second, Max: math.MaxInt64},
		{Min: time.Second},
		{Min: time.Duration(math.MaxInt64/2 + 1), Max: math.MaxInt64},
	} {
		for n := 1; n < 200; n++ {
			if d := p.Ceiling(n); d < p.Min {
				t.Fatalf("%+v: Ceiling(%d) = %v, below Min", p, n, d)
			}
			if d := p.Delay(n); d < p.Min/2 {
				t.Fatalf("%+v: Delay(%d) = %v", p, n, d)
			}
		}
	}
}

func TestSleepOrWake(t *testing.T) {
	wake := make(chan struct{}, 1)
	wake <- struct{}{}
	if woken, err := SleepOrWake(context.Background(), time.Hour, wake); !woken || err != nil {
		t.Fatalf("woken %v err %v, want woken", woken, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if woken, err := SleepOrWake(ctx, time.Hour, nil); woken || !errors.Is(err, context.Canceled) {
		t.Fatalf("woken %v err %v, want the context's error", woken, err)
	}
	if woken, err := SleepOrWake(context.Background(), time.Millisecond, nil); woken || err != nil {
		t.Fatalf("woken %v err %v, want a full sleep", woken, err)
	}
}
