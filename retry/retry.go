package retry

import (
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd/lb"
)

// Callback is go-kit's lb.Callback (an alias, so go-kit callbacks pass
// unchanged): it gets the attempt count n, from 1, and the error that
// attempt received, and says whether to keep trying. A non-nil replacement
// takes the place of the received error if the call ends there.
type Callback = lb.Callback

// Retry returns an endpoint that calls an endpoint of b, and on error
// another, until one succeeds, max attempts have failed, or timeout has
// passed, whichever comes first. It is go-kit's lb.Retry, with these
// differences:
//
//   - Attempts run inline, in the caller's goroutine: no goroutine or
//     channel per attempt. An endpoint that ignores its context's deadline
//     therefore delays the return past the timeout, where go-kit would
//     return on time and leave the attempt running; its late success is
//     still the deadline error, as in go-kit. The timeout is a
//     context.WithDeadline, as go-kit's is a context.WithTimeout; when the
//     caller's deadline is earlier, the caller's context goes through
//     unchanged.
//   - A call that fails after trying is an *Error listing each attempt's
//     error, host and duration, also when the timeout or the caller's
//     cancellation ends the call (go-kit then returns the bare context
//     error). errors.Is(err, context.DeadlineExceeded) still reports the
//     timeout. A call of more than MaxErrorAttempts attempts keeps the
//     first and the last few, and Error.Total counts them all (go-kit
//     keeps every attempt's error, without bound).
//   - timeout <= 0 means no timeout of Retry's own: only the caller's
//     context bounds the call (go-kit's would fail every call at once).
//   - After ErrNoEndpoints the next attempt waits briefly (see
//     NoEndpointsBackoffMin), never past the deadline, instead of spinning.
//   - After ImmediateRetries retries at once, attempts are paced (see
//     PacingMax): a call whose every host fails at once makes about one
//     attempt per PacingMax, where go-kit's spins.
//   - A closed balancer (an error that is a ClosedError, as lbkit's
//     loadbalancer.ErrClosed is) ends the call at once, where go-kit's
//     retries it until the timeout.
//   - With an EndpointAvoider balancer (lbkit's), each retry goes to a host
//     not yet tried by the call when there is one.
//   - A nil b gives an endpoint that returns ErrNilBalancer instead of a
//     panic.
//
// max < 1 still makes one attempt, as go-kit's does.
func Retry(max int, timeout time.Duration, b lb.Balancer) endpoint.Endpoint {
	attempts := 1
	if max > 1 {
		attempts = max
	}
	return newGoKit(timeout, b, nil, attempts).call
}

// RetryWithCallback is Retry with the decision to go on after each failed
// attempt left to cb (go-kit's semantics; see Callback): there is no limit
// on attempts but cb and timeout. A nil cb keeps trying until the timeout,
// or, with timeout <= 0, until the caller's context ends or the balancer
// is closed; the pacing beyond ImmediateRetries keeps such a call from
// spinning, and its error from growing, however long it lasts. The
// differences from go-kit listed under Retry apply.
func RetryWithCallback(timeout time.Duration, b lb.Balancer, cb Callback) endpoint.Endpoint {
	return newGoKit(timeout, b, cb, 0).call
}

// newGoKit returns a Retrier configured as go-kit's retry: no back-off (but
// pacing beyond ImmediateRetries), no budget, every error retried,
// maxAttempts 0 meaning no limit.
func newGoKit(timeout time.Duration, b lb.Balancer, cb Callback, maxAttempts int) *Retrier {
	return &Retrier{
		pick: newPicker(b, true),
		cfg: config{
			maxAttempts: maxAttempts,
			timeout:     max(timeout, 0),
			callback:    cb,
			avoid:       true,
			pace:        true,
		},
		idle: make(chan struct{}),
	}
}
