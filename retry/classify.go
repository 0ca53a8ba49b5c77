package retry

import "errors"

// permanentError marks an error that retrying will not cure.
type permanentError struct{ err error }

// errPermanent is what a permanentError reports itself to be to errors.Is.
// Asking errors.Is for a package variable allocates nothing, where
// errors.As into a local would, on every failed attempt.
var errPermanent = errors.New("retry: permanent error")

func (p *permanentError) Error() string        { return p.err.Error() }
func (p *permanentError) Unwrap() error        { return p.err }
func (p *permanentError) Is(target error) bool { return target == errPermanent }

// Permanent marks err as not worth retrying: the default classifier of a
// Retrier stops at it. Endpoints use it for errors that another attempt
// cannot fix, such as a rejected request. errors.Is(Permanent(err), err) is
// true. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool { return errors.Is(err, errPermanent) }

// Retryable is the default classifier of a Retrier: every error is worth
// another attempt except those marked with Permanent. The caller's own
// cancellation needs no classifier: a Retrier never retries once the
// caller's context is done, whatever the classifier says.
func Retryable(err error) bool { return !IsPermanent(err) }
