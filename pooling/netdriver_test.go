package pooling_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/pooling"
)

func TestNetDriverBadInput(t *testing.T) {
	for _, network := range []string{"", "udp", "ip", "unixgram"} {
		if _, err := pooling.NewNetDriver(network); !errors.Is(err, pooling.ErrInvalidArgument) {
			t.Errorf("NewNetDriver(%q) = %v, want ErrInvalidArgument", network, err)
		}
	}
	for name, o := range map[string]pooling.NetOption{
		"dial":  pooling.WithDialTimeout(-1),
		"read":  pooling.WithReadTimeout(-1),
		"write": pooling.WithWriteTimeout(-1),
		"nil":   nil,
	} {
		if _, err := pooling.NewNetDriver("tcp", o); !errors.Is(err, pooling.ErrInvalidArgument) {
			t.Errorf("%s: NewNetDriver = %v, want ErrInvalidArgument", name, err)
		}
	}
	d, err := pooling.NewNetDriver("tcp4", pooling.WithKeepAlive(-1))
	if err != nil || d.Network() != "tcp4" {
		t.Errorf("NewNetDriver(tcp4) = %v, %v", d, err)
	}
}

func TestNetDriverUnixSocket(t *testing.T) {
	srv := startServer(t, "unix", filepath.Join(t.TempDir(), "echo.sock"))
	d, err := pooling.NewNetDriver("unix")
	if err != nil {
		t.Fatal(err)
	}
	p, err := pooling.NewPool[net.Conn](srv.addr, d, pooling.WithPrespawn(0))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		c := get(t, p)
		if err := ping(c.Value()); err != nil {
			t.Fatal(err)
		}
		put(t, p, c, nil)
	}
	if st := p.Stats(); st.Dialled != 1 || st.ClosedTestFailed != 0 {
		t.Errorf("stats = %+v", st)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "no server connection", func() bool { return srv.Open() == 0 })
}

func TestNetDriverReadTimeout(t *testing.T) {
	srv := startEcho(t)
	srv.mu.Lock()
	srv.silent = true // reads, never answers: a hung host
	srv.mu.Unlock()
	d := tcpDriver(t, pooling.WithReadTimeout(30*time.Millisecond), pooling.WithWriteTimeout(time.Second))
	p, err := pooling.NewPool[net.Conn](srv.addr, d, pooling.WithPrespawn(0))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	c := get(t, p)
	// A deadline the previous borrower left behind is cleared on borrow.
	c.Value().SetReadDeadline(time.Now().Add(-time.Second))
	put(t, p, c, nil)
	c = get(t, p)
	err = ping(c.Value())
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ping a silent server = %v, want a read timeout", err)
	}
	if d.Temporary(err) {
		t.Error("a read timeout counted as temporary")
	}
	put(t, p, c, err)
	if st := p.Stats(); st.ClosedFatal != 1 || st.Open != 0 {
		t.Errorf("stats = %+v", st)
	}
	if u, ok := c.Value().(interface{ NetConn() net.Conn }); !ok || u.NetConn() == nil {
		t.Error("the deadline wrapper does not expose the underlying connection")
	}
}

func TestNetDriverTemporary(t *testing.T) {
	d := tcpDriver(t)
	cases := []struct {
		err  error
		temp bool
	}{
		{errApp, true},
		{fmt.Errorf("decode: %w", errApp), true},
		{io.EOF, false},
		{io.ErrUnexpectedEOF, false},
		{net.ErrClosed, false},
		{os.ErrDeadlineExceeded, false},
		{context.Canceled, false},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), false},
		{syscall.ECONNRESET, false},
		{&net.OpError{Op: "read", Net: "tcp", Err: syscall.EPIPE}, false},
	}
	for _, c := range cases {
		if got := d.Temporary(c.err); got != c.temp {
			t.Errorf("Temporary(%v) = %v, want %v", c.err, got, c.temp)
		}
	}
}

func TestNetDriverTestOnBorrow(t *testing.T) {
	d := tcpDriver(t)
	srv := startEcho(t)
	c, err := d.Dial(bg(), srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(c)
	if err := d.TestOnBorrow(c); err != nil {
		t.Errorf("healthy connection: %v", err)
	}

	// An unread reply makes the stream unusable.
	if _, err := io.WriteString(c, "x"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "unread data to be seen", func() bool {
		return errors.Is(d.TestOnBorrow(c), pooling.ErrUnexpectedData)
	})

	// A connection the server closed.
	c2, err := d.Dial(bg(), srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(c2)
	eventually(t, "the server to accept", func() bool { return srv.Open() == 2 })
	srv.DropConns()
	eventually(t, "the closed peer to be seen", func() bool {
		return errors.Is(d.TestOnBorrow(c2), pooling.ErrPeerClosed)
	})

	// A connection closed on our side fails too.
	c3, err := d.Dial(bg(), srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	d.Close(c3)
	if err := d.TestOnBorrow(c3); err == nil {
		t.Error("a closed connection passed the test")
	}
}

func TestDriverFuncsDefaults(t *testing.T) {
	var d pooling.DriverFuncs[int]
	if _, err := d.Dial(bg(), "x"); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("Dial without DialFunc = %v", err)
	}
	if d.Close(1) != nil || d.TestOnBorrow(1) != nil || d.Temporary(errApp) {
		t.Error("DriverFuncs defaults: want Close and Test to succeed and errors to be fatal")
	}
}
