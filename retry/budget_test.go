package retry

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"
)

func TestNewBudgetRejectsBadSettings(t *testing.T) {
	for _, c := range []struct {
		ratio, floor float64
		window       time.Duration
	}{
		{-0.1, 1, time.Second},
		{math.NaN(), 1, time.Second},
		{math.Inf(1), 1, time.Second},
		{0.1, -1, time.Second},
		{0.1, math.NaN(), time.Second},
		{0.1, 1, 0},
		{0.1, 1, -time.Second},
	} {
		if _, err := NewBudget(c.ratio, c.floor, c.window); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("NewBudget(%v, %v, %v) error = %v, want ErrInvalidArgument", c.ratio, c.floor, c.window, err)
		}
	}
}

func TestBudgetRatioOfRequests(t *testing.T) {
	b, err := NewBudget(0.2, 0, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	now := int64(100 * time.Second)
	for range 100 {
		b.deposit(now)
	}
	granted := 0
	for range 50 {
		if b.withdraw(now) {
			granted++
		}
	}
	if granted != 20 {
		t.Fatalf("granted %d retries for 100 requests at ratio 0.2, want 20", granted)
	}
	st := b.Stats()
	if st.Exhausted != 30 {
		t.Fatalf("Exhausted = %d, want 30", st.Exhausted)
	}
}

func TestBudgetFloorPerSecond(t *testing.T) {
	b, _ := NewBudget(0, 2, 10*time.Second)
	now := int64(time.Hour)
	granted := 0
	for range 100 {
		if b.withdraw(now) {
			granted++
		}
	}
	if granted != 20 {
		t.Fatalf("granted %d with no requests and a floor of 2/s over 10s, want 20", granted)
	}
}

func TestBudgetWindowSlides(t *testing.T) {
	b, _ := NewBudget(1, 0, 10*time.Second)
	t0 := int64(time.Hour)
	for range 10 {
		b.deposit(t0)
	}
	for range 10 {
		if !b.withdraw(t0) {
			t.Fatal("retry refused within the ratio")
		}
	}
	if b.withdraw(t0 + int64(time.Second)) {
		t.Fatal("retry granted beyond the ratio")
	}
	// Eleven seconds on, the old requests and retries have left the window.
	later := t0 + int64(11*time.Second)
	if b.withdraw(later) {
		t.Fatal("retry granted with no recent requests and no floor")
	}
	b.deposit(later)
	if !b.withdraw(later) {
		t.Fatal("retry refused after a new request; old retries still counted")
	}
}

func TestBudgetConcurrentNeverOverdrawn(t *testing.T) {
	b, _ := NewBudget(0.1, 0, 10*time.Second)
	now := int64(time.Hour)
	for range 1000 {
		b.deposit(now)
	}
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			n := 0
			for range 100 {
				if b.withdraw(now) {
					n++
				}
			}
			mu.Lock()
			granted += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if granted != 100 {
		t.Fatalf("granted %d concurrent retries, want exactly 100", granted)
	}
}
