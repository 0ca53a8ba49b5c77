package pooling

import (
	"context"
	"errors"

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
//	defer func() { c.Release(err, pooling.HostUp) }()
type Conn[C any] struct {
	e     *entry[C]
	h     *host[C] // set when the Conn came from a Service
	start strategy.Start
	gen   uint32
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
// connection for reuse; a fatal one closes it. score, in [0,1], tells how
// well the host served (HostUp, HostDown, or anything between such as an
// inverse latency); a fatal error forces HostDown. The score and the time
// since GetConn go into the host's statistics, which the service's strategy
// reads. An error wrapping context.Canceled records nothing against the
// host: the caller gave up, the host did not fail. For a Conn from
// Pool.Get, score is ignored.
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
	fatal, perr := c.e.pool.put(c, err, discard)
	if perr != nil {
		return perr
	}
	if h := c.h; h != nil {
		h.record(c.start, err, fatal, score)
	}
	return nil
}

// outcomeScore is the all-or-nothing score of a call's error.
func outcomeScore(err error) float64 {
	if err != nil {
		return HostDown
	}
	return HostUp
}

// cancelled reports whether err says the caller gave up, which says nothing
// about the host.
func cancelled(err error) bool { return errors.Is(err, context.Canceled) }
