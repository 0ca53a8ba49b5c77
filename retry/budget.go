package retry

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// Defaults of the retry budget every Retrier gets unless told otherwise.
// They follow Finagle's RetryBudget in shape: retries may add up to a
// fraction of the recent requests, plus a small allowance per second so
// that a quiet client can still retry.
const (
	// DefaultBudgetRatio is the fraction of recent requests that may be
	// retried.
	DefaultBudgetRatio = 0.1
	// DefaultBudgetMinPerSecond is the allowance of retries per second on
	// top of the ratio.
	DefaultBudgetMinPerSecond = 10
	// DefaultBudgetWindow is how far back "recent" reaches.
	DefaultBudgetWindow = 10 * time.Second
)

// budgetBuckets is the number of time slices the window is kept in. Ten
// makes the window slide in steps of a tenth of it, enough for a budget.
const budgetBuckets = 10

// Budget limits retries to a fraction of recent requests plus a floor per
// second, over a sliding window. One Budget is shared by every call through
// the Retriers it is given to (each Retrier makes its own by default), so
// that when a backend fails, retries cannot multiply the load: once they
// use up their share, calls fail fast with ErrBudgetExhausted instead.
//
// A request costs one atomic add and a retry a scan of a few counters; no
// lock is taken. Counts are kept per tenth of the window, so old requests
// leave the window in steps.
type Budget struct {
	ratio       float64
	perSecond   float64
	window      time.Duration
	width       int64   // nanoseconds per bucket
	floorCredit float64 // retries the per-second floor allows per window

	// Only the current slice of each array is written, and all of them
	// are read together, so the slices of one array share cache lines;
	// the padding keeps the two arrays and the settings apart.
	_         [64]byte
	requests  [budgetBuckets]bucket
	_         [64]byte
	retries   [budgetBuckets]bucket
	_         [64]byte
	exhausted atomic.Uint64
}

// bucket is one slice of the window: the slice's index (upper 32 bits) and
// its count (lower 32 bits) in one word, so that moving to a new slice and
// counting in it is a single compare-and-swap.
type bucket struct{ w atomic.Uint64 }

// BudgetStats is a Budget's state at one moment.
type BudgetStats struct {
	// Requests and Retries count those in the current window.
	Requests, Retries uint64
	// Exhausted counts retries refused since the budget was made.
	Exhausted uint64
	// Ratio, MinPerSecond and Window are the budget's settings.
	Ratio, MinPerSecond float64
	Window              time.Duration
}

// NewBudget returns a budget that allows, within any window, retries up to
// ratio times the requests plus minPerSecond times the window's length in
// seconds. ratio and minPerSecond must be finite and not negative; window
// must be positive.
func NewBudget(ratio, minPerSecond float64, window time.Duration) (*Budget, error) {
	switch {
	case !(ratio >= 0) || math.IsInf(ratio, 0):
		return nil, fmt.Errorf("%w: budget ratio %v", ErrInvalidArgument, ratio)
	case !(minPerSecond >= 0) || math.IsInf(minPerSecond, 0):
		return nil, fmt.Errorf("%w: budget floor %v per second", ErrInvalidArgument, minPerSecond)
	case window < budgetBuckets:
		return nil, fmt.Errorf("%w: budget window %v", ErrInvalidArgument, window)
	}
	return &Budget{
		ratio:       ratio,
		perSecond:   minPerSecond,
		window:      window,
		width:       int64(window) / budgetBuckets,
		floorCredit: minPerSecond * window.Seconds(),
	}, nil
}

// deposit counts a request at now (nanoseconds on the package clock).
func (b *Budget) deposit(now int64) { add(&b.requests, now/b.width, 1) }

// withdraw takes one retry from the budget at now, or reports false (and
// counts the refusal) when the budget is spent. The retry is counted before
// the check, so concurrent callers cannot overdraw it together.
func (b *Budget) withdraw(now int64) bool {
	idx := now / b.width
	add(&b.retries, idx, 1)
	reqs, rets := sum(&b.requests, idx), sum(&b.retries, idx)
	if float64(rets) <= b.ratio*float64(reqs)+b.floorCredit {
		return true
	}
	add(&b.retries, idx, -1)
	b.exhausted.Add(1)
	return false
}

// Stats returns the counts in the current window.
func (b *Budget) Stats() BudgetStats {
	idx := clock() / b.width
	return BudgetStats{
		Requests:     sum(&b.requests, idx),
		Retries:      sum(&b.retries, idx),
		Exhausted:    b.exhausted.Load(),
		Ratio:        b.ratio,
		MinPerSecond: b.perSecond,
		Window:       b.window,
	}
}

// add adds delta to the count of slice idx, starting the slice afresh if
// its bucket still holds an older one. A negative delta on a bucket that
// has moved on is dropped.
func add(bs *[budgetBuckets]bucket, idx int64, delta int64) {
	w := &bs[idx%budgetBuckets].w
	for {
		old := w.Load()
		var next uint64
		switch e := uint32(old >> 32); {
		case e == uint32(idx) || int32(e-uint32(idx)) > 0:
			// The current slice, or (for a caller that read the clock a
			// moment before another moved the bucket on) a newer one:
			// count there.
			n := int64(uint32(old)) + delta
			if n < 0 {
				return
			}
			next = old&^0xffffffff | uint64(uint32(n))
		case delta < 0:
			return
		default:
			next = uint64(uint32(idx))<<32 | uint64(uint32(delta))
		}
		if w.CompareAndSwap(old, next) {
			return
		}
	}
}

// sum adds the counts of the slices within the window ending at slice idx.
func sum(bs *[budgetBuckets]bucket, idx int64) uint64 {
	var n uint64
	for i := range bs {
		v := bs[i].w.Load()
		if age := uint32(idx) - uint32(v>>32); age < budgetBuckets {
			n += uint64(uint32(v))
		}
	}
	return n
}
