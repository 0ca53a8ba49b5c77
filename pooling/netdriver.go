package pooling

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// DefaultDialTimeout bounds a NetDriver's dial when the context has no
// earlier deadline, so that a host that drops packets costs seconds, not the
// operating system's minutes.
const DefaultDialTimeout = 5 * time.Second

// NetDriver is the Driver for net.Conn over TCP or Unix stream sockets.
//
// With a read or write timeout set, the connections it dials give every
// Read or Write its own deadline that far ahead, so a host that stops
// answering mid-reply fails the call instead of hanging it; deadlines the
// user sets are then overridden at the next Read or Write. Its test on
// borrow clears leftover deadlines and, on Unix systems, checks without
// blocking that the other end has not closed the connection (or sent bytes
// nobody asked for) while it sat idle. A pool skips the test for a
// connection lent within its test-on-borrow window (WithTestOnBorrow), so
// a caller that sets deadlines of its own clears them before giving the
// connection back.
type NetDriver struct {
	network      string
	dialer       net.Dialer
	readTimeout  time.Duration
	writeTimeout time.Duration
}

var _ Driver[net.Conn] = (*NetDriver)(nil)

// NetOption configures a NetDriver.
type NetOption func(*NetDriver) error

// WithDialTimeout bounds each dial attempt (DefaultDialTimeout by default).
// Zero leaves it to the context alone.
func WithDialTimeout(d time.Duration) NetOption {
	return func(n *NetDriver) error {
		if d < 0 {
			return invalid("negative dial timeout %v", d)
		}
		n.dialer.Timeout = d
		return nil
	}
}

// WithReadTimeout gives every Read on the driver's connections a deadline d
// ahead. Zero (the default) sets none.
func WithReadTimeout(d time.Duration) NetOption {
	return func(n *NetDriver) error {
		if d < 0 {
			return invalid("negative read timeout %v", d)
		}
		n.readTimeout = d
		return nil
	}
}

// WithWriteTimeout gives every Write on the driver's connections a deadline
// d ahead. Zero (the default) sets none.
func WithWriteTimeout(d time.Duration) NetOption {
	return func(n *NetDriver) error {
		if d < 0 {
			return invalid("negative write timeout %v", d)
		}
		n.writeTimeout = d
		return nil
	}
}

// WithKeepAlive sets the TCP keep-alive period of dialled connections (see
// net.Dialer.KeepAlive); negative disables keep-alives.
func WithKeepAlive(d time.Duration) NetOption {
	return func(n *NetDriver) error {
		n.dialer.KeepAlive = d
		return nil
	}
}

// NewNetDriver returns a driver dialling network, one of "tcp", "tcp4",
// "tcp6" and "unix".
func NewNetDriver(network string, opts ...NetOption) (*NetDriver, error) {
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return nil, invalid("network %q, want tcp, tcp4, tcp6 or unix", network)
	}
	n := &NetDriver{network: network}
	n.dialer.Timeout = DefaultDialTimeout
	for _, o := range opts {
		if o == nil {
			return nil, invalid("nil net option")
		}
		if err := o(n); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// Network returns the network the driver dials.
func (n *NetDriver) Network() string { return n.network }

// Dial implements Driver.
func (n *NetDriver) Dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := n.dialer.DialContext(ctx, n.network, addr)
	if err != nil {
		return nil, err
	}
	if n.readTimeout > 0 || n.writeTimeout > 0 {
		return &deadlineConn{Conn: c, read: n.readTimeout, write: n.writeTimeout}, nil
	}
	return c, nil
}

// Close implements Driver.
func (n *NetDriver) Close(c net.Conn) error { return c.Close() }

// TestOnBorrow implements Driver: it clears deadlines left by the previous
// borrower and returns ErrPeerClosed or ErrUnexpectedData for a connection
// that must not be reused.
func (n *NetDriver) TestOnBorrow(c net.Conn) error {
	if d, ok := c.(*deadlineConn); ok {
		c = d.Conn
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		return err
	}
	return checkIdle(c)
}

// Temporary implements Driver. Errors of the connection itself (end of
// stream, reset, a closed connection, a timed-out read or write, any
// net.Error or system error) and a cancelled or expired context (a call cut
// short leaves the stream at an unknown point) are fatal. Any other error
// is taken to come from the application above the connection, such as a
// "not found" reply, which leaves the connection usable.
func (n *NetDriver) Temporary(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return false
	}
	var errno syscall.Errno
	return !errors.As(err, &errno)
}

// deadlineConn gives every Read and Write its own deadline.
type deadlineConn struct {
	net.Conn
	read, write time.Duration
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	if c.read > 0 {
		if err := c.Conn.SetReadDeadline(time.Now().Add(c.read)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(b)
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	if c.write > 0 {
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.write)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(b)
}

// NetConn returns the connection under the deadlines, as tls.Conn does.
func (c *deadlineConn) NetConn() net.Conn { return c.Conn }
