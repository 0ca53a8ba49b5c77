package pooling

import (
	"context"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// Conn is a borrowed connection: what Pool.Get and Service.GetConn return.
// Give it back exactly once, with Pool.Put, Release or Discard; a second
// give-back, or one of a copy after the first, returns ErrNotBorrowed and
// does nothing. Do not use Value after giving the Conn back.
//
// Conn is a small value, not a pointer, so that borrowing allocates nothing.
// Because it is a value, defer a closure to report the error the deferred
// call should see:
//
//	c, err := svc.GetConn(ctx)
//	if err != nil {
//		return err
//	}
//	defer func() { c.Release(err, strategy.HostUp) }()
type Conn[C any] struct {
	e   *entry[C]
	gen uint32
}

// borrow is what a Service records with a connection it lends: the host's
// record, the start of the borrow, and the context GetConn was given, which
// decides whether a failure was the caller's own cancellation. It is kept
// in the pool's entry rather than in Conn because the compiler keeps a
// struct of at most four fields in registers: with these three in Conn, a
// parallel Get and Put took half as long again.
type borrow struct {
	host  *strategy.Host
	start strategy.Start
	ctx   context.Context
}

// Value returns the connection itself. The zero Conn returns C's zero value.
func (c Conn[C]) Value() C {
	if c.e == nil {
		var zero C
		return zero
	}
	return c.e.conn
}

// Address returns the address of the connection's host, or "" for the zero
// Conn.
func (c Conn[C]) Address() string {
	if c.e == nil {
		return ""
	}
	return c.e.pool.addr
}

// Release gives the connection back. err is the outcome of using it: nil,
// or an error the driver judges (Driver.Temporary) temporary, keeps the
// connection for reuse; a fatal one closes it.
//
// For a Conn from Service.GetConn, score (in [0,1]: strategy.HostUp,
// strategy.HostDown, or anything between such as an inverse latency) tells
// how well the host served; a fatal error forces HostDown. The score, the
// failure if err is not nil, and the time since GetConn go into the host's
// statistics (strategy.Host.RecordScore), which the service's strategy
// reads. A failure while the context given to GetConn is cancelled records
// nothing against the host: the caller gave up, the host did not fail. For
// a Conn from Pool.Get, score is ignored.
func (c Conn[C]) Release(err error, score float64) error {
	return c.giveBack(err, score, false)
}

// Discard gives the connection back and closes it whatever err is, for a
// connection whose state the caller cannot vouch for (a half-read reply, a
// protocol upgrade). err and score are recorded as by Release.
func (c Conn[C]) Discard(err error, score float64) error {
	return c.giveBack(err, score, true)
}

func (c Conn[C]) giveBack(err error, score float64, discard bool) error {
	if c.e == nil {
		return ErrNotBorrowed
	}
	fatal, b, perr := c.e.pool.put(c, err, discard)
	if perr != nil {
		return perr
	}
	if b.host != nil {
		if fatal {
			score = strategy.HostDown
		}
		b.host.RecordScore(b.ctx, b.start, err, score)
	}
	return nil
}
