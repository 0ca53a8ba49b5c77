package retry

import (
	"math/rand/v2"
	"time"
)

// Defaults of the back-off between attempts of a Retrier.
const (
	// DefaultBackoffBase is the ceiling of the first wait; each further
	// wait doubles the ceiling.
	DefaultBackoffBase = 10 * time.Millisecond
	// DefaultBackoffCap bounds the ceiling.
	DefaultBackoffCap = time.Second
)

// Waits after the balancer reported no endpoints. They apply even where
// back-off is off (Retry, RetryWithCallback, WithoutBackoff): retrying at
// once cannot find an endpoint that discovery has not delivered yet, and
// go-kit's spin on ErrNoEndpoints burns a core until the deadline. Every
// wait is cut short at the call's deadline.
const (
	// NoEndpointsBackoffMin is the first wait after ErrNoEndpoints.
	NoEndpointsBackoffMin = time.Millisecond
	// NoEndpointsBackoffMax bounds the doubling waits after consecutive
	// ErrNoEndpoints.
	NoEndpointsBackoffMax = 50 * time.Millisecond
)

// fullJitter returns the wait before retry number k (1 for the wait after
// the first attempt): a uniformly random duration between zero and
// min(ceil, base·2^(k-1)). Spreading retries over the whole interval, rather
// than around its end, is what keeps clients that failed together from
// retrying together (the "full jitter" of Brooker's "Exponential Backoff
// and Jitter").
func fullJitter(k int, base, ceil time.Duration, rnd func(n int64) int64) time.Duration {
	return time.Duration(rnd(int64(exponential(k, base, ceil)) + 1))
}

// exponential returns min(ceil, base·2^(k-1)) without overflowing.
func exponential(k int, base, ceil time.Duration) time.Duration {
	d := base
	for i := 1; i < k && d < ceil; i++ {
		if d > ceil/2 {
			return ceil
		}
		d *= 2
	}
	return min(d, ceil)
}

// randInt64N is the random source of back-off outside simulations.
func randInt64N(n int64) int64 { return rand.Int64N(n) }
