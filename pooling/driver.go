package pooling

import "context"

// Driver makes, checks and closes the connections of one type for a pool.
// Its methods are called concurrently, never while the pool holds its lock.
type Driver[C any] interface {
	// Dial connects to addr. It must give up when ctx ends.
	Dial(ctx context.Context, addr string) (C, error)
	// Close releases the connection.
	Close(conn C) error
	// TestOnBorrow checks an idle connection before it is lent. A non-nil
	// error closes it and the pool tries another.
	TestOnBorrow(conn C) error
	// Temporary reports whether err, met while using a connection, leaves
	// the connection usable. When it returns false the connection is
	// closed instead of going back to the pool, and a Service scores the
	// host strategy.HostDown. It is called only with non-nil errors.
	Temporary(err error) bool
}

// DriverFuncs builds a Driver from functions, for connection types that need
// no driver type of their own. Dial is required; a nil Close does nothing, a
// nil Test accepts every connection, and a nil Temporary treats every error
// as fatal for the connection.
type DriverFuncs[C any] struct {
	// DialFunc is Dial.
	DialFunc func(ctx context.Context, addr string) (C, error)
	// CloseFunc is Close.
	CloseFunc func(conn C) error
	// TestFunc is TestOnBorrow.
	TestFunc func(conn C) error
	// TemporaryFunc is Temporary.
	TemporaryFunc func(err error) bool
}

var _ Driver[int] = DriverFuncs[int]{}

// Dial implements Driver.
func (d DriverFuncs[C]) Dial(ctx context.Context, addr string) (C, error) {
	if d.DialFunc == nil {
		var zero C
		return zero, errNilDial
	}
	return d.DialFunc(ctx, addr)
}

// Close implements Driver.
func (d DriverFuncs[C]) Close(conn C) error {
	if d.CloseFunc == nil {
		return nil
	}
	return d.CloseFunc(conn)
}

// TestOnBorrow implements Driver.
func (d DriverFuncs[C]) TestOnBorrow(conn C) error {
	if d.TestFunc == nil {
		return nil
	}
	return d.TestFunc(conn)
}

// Temporary implements Driver.
func (d DriverFuncs[C]) Temporary(err error) bool {
	if d.TemporaryFunc == nil {
		return false
	}
	return d.TemporaryFunc(err)
}
