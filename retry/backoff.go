package retry

import (
	"time"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
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

// fullJitter is the back-off of New and WithBackoff. Spreading retries
// over the whole interval from zero to the ceiling, rather than around its
// end, is what keeps clients that failed together from retrying together
// (the "full jitter" of Brooker's "Exponential Backoff and Jitter").
func fullJitter(base, ceiling time.Duration) backoff.Policy {
	return backoff.Policy{Min: base, Max: ceiling, Jitter: backoff.Full}
}

// noEndpointsBackoff spaces the picks after consecutive ErrNoEndpoints. It
// has no jitter: discovery, not the other clients, decides when they end.
var noEndpointsBackoff = backoff.Policy{Min: NoEndpointsBackoffMin, Max: NoEndpointsBackoffMax, Jitter: backoff.None}
