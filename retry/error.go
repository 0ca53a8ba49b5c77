package retry

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

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

// MaxErrorAttempts bounds the attempts an *Error keeps: of a call that made
// more, the first MaxErrorAttempts/2 and the last MaxErrorAttempts/2, so
// that a call retried for a long time (RetryWithCallback with no callback,
// or a large maximum) neither holds memory per attempt nor builds a huge
// message. Error.Total still counts every attempt.
const MaxErrorAttempts = 16

// maxErrorText bounds the text of each error that Error.Error quotes.
const maxErrorText = 256

// Error is the error of a call whose every attempt failed, or that stopped
// before one succeeded (deadline, the caller's cancellation, the budget, a
// permanent error, the callback, a closed balancer). It is always returned
// as *Error.
//
// RawErrors and Final keep the meaning of go-kit's lb.RetryError: the
// attempts' errors, and the error that ended the call (the last attempt's,
// or the callback's replacement for it, or context.DeadlineExceeded,
// context.Canceled, ErrBudgetExhausted). errors.Is and errors.As see Final
// and the error of every attempt kept, and errors.As into an
// *lb.RetryError fills it in, so go-kit code that inspects lb.RetryError
// keeps working. Unlike go-kit's, which keeps every attempt's error, a call
// of more than MaxErrorAttempts attempts keeps the first and the last
// MaxErrorAttempts/2.
type Error struct {
	RawErrors []error
	Final     error
	// Attempts lists the attempts kept, in the order they were started:
	// all of them when Total is at most MaxErrorAttempts, else the first
	// and the last MaxErrorAttempts/2 (their N tells which).
	Attempts []Attempt
	// Total counts every attempt of the call, kept or not.
	Total int
}

const (
	keepFirst = MaxErrorAttempts / 2
	keepLast  = MaxErrorAttempts - keepFirst
)

// keepAttempt adds a, the attempt after the first total, to kept. Past
// MaxErrorAttempts the first keepFirst stay and the rest of kept is a ring
// of the latest attempts, which ordered puts back in order; so a call that
// retries for ever holds a fixed amount of memory.
func keepAttempt(kept []Attempt, a Attempt, total int) []Attempt {
	if len(kept) < MaxErrorAttempts {
		return append(kept, a)
	}
	kept[keepFirst+(total-keepFirst)%keepLast] = a
	return kept
}

// ordered returns the attempts kept by keepAttempt of a call of total
// attempts, in the order they were started.
func ordered(kept []Attempt, total int) []Attempt {
	if total <= len(kept) {
		return kept
	}
	oldest := keepFirst + (total-keepFirst)%keepLast
	out := make([]Attempt, 0, len(kept))
	out = append(out, kept[:keepFirst]...)
	out = append(out, kept[oldest:]...)
	return append(out, kept[keepFirst:oldest]...)
}

// bounded returns the attempts an *Error keeps of all, in order.
func bounded(all []Attempt) []Attempt {
	if len(all) <= MaxErrorAttempts {
		return all
	}
	out := make([]Attempt, 0, MaxErrorAttempts)
	out = append(out, all[:keepFirst]...)
	return append(out, all[len(all)-keepLast:]...)
}

// newError returns the error of a call of total attempts, of which kept
// (in order, at most MaxErrorAttempts) are kept.
func newError(final error, kept []Attempt, total int) *Error {
	e := &Error{Final: final, Attempts: make([]Attempt, len(kept)), RawErrors: make([]error, len(kept)), Total: total}
	copy(e.Attempts, kept)
	for i, a := range kept {
		e.RawErrors[i] = a.Err
	}
	return e
}

// Error gives the final error, the number of attempts, and every attempt
// kept, with a note of how many were left out between the first and the
// last. Each error's text is cut at a few hundred bytes, so the message
// stays short however long the call retried.
func (e *Error) Error() string {
	total := max(e.Total, len(e.Attempts))
	var b strings.Builder
	fmt.Fprintf(&b, "retry: %s after %d attempt", clip(e.Final), total)
	if total != 1 {
		b.WriteByte('s')
	}
	for i, a := range e.Attempts {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		if i > 0 && a.N > e.Attempts[i-1].N+1 {
			fmt.Fprintf(&b, "(%d more); ", a.N-e.Attempts[i-1].N-1)
		}
		fmt.Fprintf(&b, "#%d", a.N)
		if a.Hedge {
			b.WriteString(" (hedge)")
		}
		if a.Host != "" {
			fmt.Fprintf(&b, " %s", a.Host)
		}
		fmt.Fprintf(&b, " %v: %s", a.Duration.Round(time.Microsecond), clip(a.Err))
	}
	return b.String()
}

// clip is err's text, cut to maxErrorText bytes at a rune boundary.
func clip(err error) string {
	if err == nil {
		return "<nil>"
	}
	s := err.Error()
	if len(s) <= maxErrorText {
		return s
	}
	i := maxErrorText
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
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
