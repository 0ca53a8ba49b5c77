package retry

import (
	"context"
	"time"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
)

// Tracer follows each call of a Retrier and each of its attempts, for
// distributed tracing: package retry/otelretry adapts OpenTelemetry to it,
// one span per call with a child span per attempt. Set it with WithTracer.
// Without one the Retrier pays one nil check per call and per attempt.
//
// The Retrier calls a Tracer and the CallTrace it returns from the
// goroutine that made the call, never concurrently for one call; a Tracer
// is shared by every call and must be safe for concurrent use.
type Tracer interface {
	// StartCall is called once a call is accepted (not for a call refused
	// because the Retrier is closed). The context it returns is the call's
	// and is the parent of each attempt's context.
	StartCall(ctx context.Context) (context.Context, CallTrace)
}

// CallTrace follows one call.
type CallTrace interface {
	// StartAttempt is called before attempt n asks the balancer for a host.
	// The context it returns is the one the attempt's endpoint gets, so
	// that a transport propagates the attempt's trace downstream.
	StartAttempt(ctx context.Context, n int, hedge bool) (context.Context, AttemptTrace)
	// End is called once, when the call returns, with its error (nil on
	// success) and the number of attempts it started.
	End(err error, attempts int)
}

// AttemptTrace follows one attempt.
type AttemptTrace interface {
	// End is called once per attempt, when the Retrier has decided what
	// follows it. For an attempt still running when its call ends (a
	// hedged call won by another attempt, or ended by its deadline) it is
	// called when the call ends, with the reason.
	End(AttemptEnd)
}

// AttemptEnd is what a Tracer learns when an attempt ends: the attempt
// itself and what the Retrier decided after it.
type AttemptEnd struct {
	Attempt
	// Next is what follows the attempt.
	Next Next
	// Backoff is the wait before the retry, when Next is NextRetry.
	Backoff time.Duration
	// Budget is the retry budget's answer when a retry was considered.
	Budget BudgetDecision
	// Stop is the error that ends the call here, when Next is NextStop:
	// the attempt's own error when it is not retryable or the attempts are
	// used up, ErrBudgetExhausted, or the context's error.
	Stop error
}

// Next says what follows an attempt.
type Next uint8

// What can follow an attempt.
const (
	// NextDone: the attempt succeeded and the call returns its response.
	NextDone Next = iota
	// NextRetry: the attempt failed and another attempt follows, after
	// AttemptEnd.Backoff.
	NextRetry
	// NextWait: the attempt failed while a hedge or earlier attempt of the
	// same call was still running; the call waits for that one.
	NextWait
	// NextStop: the call ends with AttemptEnd.Stop.
	NextStop
	// NextAbandoned: the attempt was still running when another attempt
	// of its call succeeded; it is cancelled.
	NextAbandoned
)

var nextNames = [...]string{"done", "retry", "wait", "stop", "abandoned"}

// String returns "done", "retry", "wait", "stop" or "abandoned".
func (n Next) String() string {
	if int(n) < len(nextNames) {
		return nextNames[n]
	}
	return "unknown"
}

// BudgetDecision is the retry budget's answer for one failed attempt.
type BudgetDecision uint8

// The retry budget's answers.
const (
	// BudgetNotAsked: no retry was considered, the Retrier has no budget,
	// or the attempt found no endpoint (which costs no budget).
	BudgetNotAsked BudgetDecision = iota
	// BudgetGranted: the budget paid for the retry.
	BudgetGranted
	// BudgetDenied: the budget was spent; the call ends with
	// ErrBudgetExhausted.
	BudgetDenied
)

var budgetNames = [...]string{"not asked", "granted", "denied"}

// String returns "not asked", "granted" or "denied".
func (b BudgetDecision) String() string {
	if int(b) < len(budgetNames) {
		return budgetNames[b]
	}
	return "unknown"
}

// WithTracer makes every call report its attempts to t (see Tracer).
func WithTracer(t Tracer) Option {
	return func(c *config) error {
		if nilarg.IsNil(t) {
			return invalid("nil tracer")
		}
		c.tracer = t
		return nil
	}
}

// succeeded shows a successful attempt to the observer and the tracer, and
// ends the call's trace.
func (r *Retrier) succeeded(ct CallTrace, tr AttemptTrace, a Attempt) {
	if r.cfg.observer != nil {
		r.cfg.observer(a)
	}
	if tr != nil {
		tr.End(AttemptEnd{Attempt: a, Next: NextDone})
	}
	if ct != nil {
		ct.End(nil, a.N)
	}
}

// endCall ends the call's trace, if it has one, with err, and returns err.
func endCall(ct CallTrace, err error, attempts int) error {
	if ct != nil {
		ct.End(err, attempts)
	}
	return err
}

// attemptEnd describes a failed attempt after which the call ends with
// final, or, when final is nil, retries after wait.
func attemptEnd(a Attempt, final error, wait time.Duration, bd BudgetDecision) AttemptEnd {
	e := AttemptEnd{Attempt: a, Budget: bd}
	if final != nil {
		e.Next, e.Stop = NextStop, final
	} else {
		e.Next, e.Backoff = NextRetry, wait
	}
	return e
}
