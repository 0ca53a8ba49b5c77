package pooling

import (
	"errors"
	"fmt"
)

// Errors returned by pools and services. Errors that carry detail wrap one of
// these, so compare with errors.Is.
var (
	// ErrClosed is returned by Get, GetConn, New, Add and SetMaxConns once
	// Close has been called.
	ErrClosed = errors.New("pooling: closed")
	// ErrTimeout is returned by Get when the wait timeout (WithWaitTimeout)
	// ends before a connection is free. It is not returned when the
	// caller's context ends first: then the error wraps the context's.
	ErrTimeout = errors.New("pooling: timed out waiting for a connection")
	// ErrInvalidArgument is wrapped by every error about a bad argument or
	// option.
	ErrInvalidArgument = errors.New("pooling: invalid argument")
	// ErrNoHosts is returned by GetConn when the service has no host, and
	// wrapped (together with the last host's error) when every attempt
	// failed.
	ErrNoHosts = errors.New("pooling: no host available")
	// ErrHostExists is returned by Add for an address already in the
	// service.
	ErrHostExists = errors.New("pooling: host already added")
	// ErrUnknownHost is returned by Remove for an address not in the
	// service.
	ErrUnknownHost = errors.New("pooling: unknown host")
	// ErrNotBorrowed is returned by Put, Release and Discard for a Conn that
	// is not currently borrowed: the zero Conn, a Conn released already, or
	// a Conn given to another pool.
	ErrNotBorrowed = errors.New("pooling: connection not borrowed")
	// ErrStillBorrowed is wrapped by Close when its close deadline passed,
	// or ForceClose ended it, before every borrowed connection came back.
	// Connections returned later are still closed.
	ErrStillBorrowed = errors.New("pooling: connections still borrowed at close")
	// ErrPeerClosed is returned by NetDriver.TestOnBorrow for an idle
	// connection the other end has closed.
	ErrPeerClosed = errors.New("pooling: idle connection closed by peer")
	// ErrUnexpectedData is returned by NetDriver.TestOnBorrow for an idle
	// connection that has unread bytes: a reply nobody read, so the stream
	// is out of step and must not be reused.
	ErrUnexpectedData = errors.New("pooling: unread data on idle connection")
)

var errNilDial = invalid("DriverFuncs without DialFunc")

// invalid returns an error wrapping ErrInvalidArgument.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}
