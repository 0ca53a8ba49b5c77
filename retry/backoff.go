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

// Pacing of Retry and RetryWithCallback. Like go-kit's, they retry at once
// (they have no back-off of their own); but when every host fails at once
// and nothing else ends the call (RetryWithCallback with a nil callback, a
// large maximum), retrying at once spins a core and floods the hosts. So,
// after ImmediateRetries retries at once, each further attempt starts no
// sooner than a growing interval after the one before it started: PacingMin,
// then doubling up to PacingMax. An attempt that took that long to fail is
// retried at once, so slow failures are not slowed further. Waits are cut
// short at the call's deadline. A Retrier (New) has its back-off instead.
const (
	// ImmediateRetries is how many retries a call of Retry or
	// RetryWithCallback makes at once, as go-kit's do, before pacing.
	ImmediateRetries = 3
	// PacingMin is the least interval between the starts of attempts
	// once pacing has begun.
	PacingMin = time.Millisecond
	// PacingMax bounds the doubling interval: a call whose every attempt
	// fails at once makes about one attempt per PacingMax.
	PacingMax = 50 * time.Millisecond
)

// pacing spaces the attempts of Retry and RetryWithCallback beyond
// ImmediateRetries.
var pacing = backoff.Policy{Min: PacingMin, Max: PacingMax, Jitter: backoff.None}

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
