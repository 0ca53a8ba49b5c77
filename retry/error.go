package retry

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-kit/kit/sd/lb"
)

// ErrInvalidArgument is wrapped by every error this package returns for an
// invalid argument: a bad option or budget setting, a nil balancer.
var ErrInvalidArgument = errors.New("retry: invalid argument")

// Errors returned by this package.
var (
	// ErrNilBalancer is returned by New for a nil balancer (or a nil
	// pointer or func in a balancer interface), and by the endpoint of
	// Retry or RetryWithCallback over one, where go-kit panics. It wraps
	// ErrInvalidArgument.
	ErrNilBalancer = fmt.Errorf("%w: nil balancer", ErrInvalidArgument)
	// ErrBudgetExhausted is the Final error of a call that stopped
	// retrying because the retry budget was spent.
	ErrBudgetExhausted = errors.New("retry: retry budget exhausted")
	// ErrClosed is returned by a Retrier's endpoint after Close.
	ErrClosed = errors.New("retry: retrier closed")
	// ErrNilEndpoint is an attempt's error when a balancer returns neither
	// an endpoint nor an error.
	ErrNilEndpoint = errors.New("retry: balancer returned a nil endpoint")
)

// Attempt describes one try of a call.
type Attempt struct {
	// N counts attempts from 1, in the order they were started.
	N int
	// Host is the address of the instance tried, when the balancer says
	// (an EndpointAvoider does; a plain go-kit balancer does not).
	Host string
	// Err is the attempt's error; nil for the attempt that succeeded.
	Err error
	// Duration is how long the attempt ran, or, for one still running when
	// the call ended, how long it had run by then.
	Duration time.Duration
	// Hedge reports that the attempt was started as a hedge, while an
	// earlier attempt was still running.
	Hedge bool
}

// Error is the error of a call whose every attempt failed, or that stopped
// before one succeeded (deadline, the caller's cancellation, the budget, a
// permanent error, the callback). It is always returned as *Error.
//
// RawErrors and Final keep the meaning of go-kit's lb.RetryError: every
// attempt's error, and the error that ended the call (the last attempt's,
// or the callback's replacement for it, or context.DeadlineExceeded,
// context.Canceled, ErrBudgetExhausted). errors.Is and errors.As see Final
// and every attempt's error, and errors.As into an *lb.RetryError fills it
// in, so go-kit code that inspects lb.RetryError keeps working.
type Error struct {
	RawErrors []error
	Final     error
	// Attempts lists every attempt in the order they were started.
	Attempts []Attempt
}

func newError(final error, attempts []Attempt) *Error {
	e := &Error{Final: final, Attempts: make([]Attempt, len(attempts)), RawErrors: make([]error, len(attempts))}
	copy(e.Attempts, attempts)
	for i, a := range attempts {
		e.RawErrors[i] = a.Err
	}
	return e
}

// Error lists the final error and then every attempt.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "retry: %v after %d attempt", e.Final, len(e.Attempts))
	if len(e.Attempts) != 1 {
		b.WriteByte('s')
	}
	for i, a := range e.Attempts {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "#%d", a.N)
		if a.Hedge {
			b.WriteString(" (hedge)")
		}
		if a.Host != "" {
			fmt.Fprintf(&b, " %s", a.Host)
		}
		fmt.Fprintf(&b, " %v: %v", a.Duration.Round(time.Microsecond), a.Err)
	}
	return b.String()
}

// Unwrap returns Final followed by every attempt's error, for errors.Is and
// errors.As.
func (e *Error) Unwrap() []error {
	out := make([]error, 0, len(e.RawErrors)+1)
	if e.Final != nil {
		out = append(out, e.Final)
	}
	for _, err := range e.RawErrors {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// As fills a go-kit *lb.RetryError with RawErrors and Final.
func (e *Error) As(target any) bool {
	if t, ok := target.(*lb.RetryError); ok {
		*t = lb.RetryError{RawErrors: e.RawErrors, Final: e.Final}
		return true
	}
	return false
}
