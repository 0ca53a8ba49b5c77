package pooling_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echoServer is a real TCP (or Unix) echo server for the tests: it writes
// back every line it reads. It counts the connections open on its side, so
// tests can see connections leak or close.
type echoServer struct {
	network, addr string

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	silent bool // read but never answer

	accepted atomic.Int64
	wg       sync.WaitGroup
}

func startEcho(tb testing.TB) *echoServer {
	tb.Helper()
	return startServer(tb, "tcp", "127.0.0.1:0")
}

func startServer(tb testing.TB, network, addr string) *echoServer {
	tb.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		tb.Fatal(err)
	}
	s := &echoServer{network: network, addr: ln.Addr().String(), conns: make(map[net.Conn]struct{})}
	s.serve(ln)
	tb.Cleanup(s.Kill)
	return s
}

func (s *echoServer) serve(ln net.Listener) {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.mu.Lock()
			if s.ln != ln {
				// Killed between Accept and here: Kill has closed the
				// connections it knew of and waits for their handlers,
				// so this one must not get one.
				s.mu.Unlock()
				c.Close()
				continue
			}
			s.conns[c] = struct{}{}
			silent := s.silent
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				if silent {
					io.Copy(io.Discard, c)
				} else {
					io.Copy(c, c)
				}
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
		}
	}()
}

// Open returns the number of connections open on the server's side.
func (s *echoServer) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// DropConns closes every connection from the server's side, keeping the
// listener.
func (s *echoServer) DropConns() {
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
}

// Kill stops the server as a crash would: listener and connections closed.
func (s *echoServer) Kill() {
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Restart listens again on the same address after Kill.
func (s *echoServer) Restart(tb testing.TB) {
	tb.Helper()
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen(s.network, s.addr); err == nil {
			s.serve(ln)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("restart %s: %v", s.addr, err)
}

// deadAddr returns a 127.0.0.1 address nothing listens on.
func deadAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// ping sends one line over c and checks it comes back.
func ping(c net.Conn) error {
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		return err
	}
	var b [5]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return err
	}
	if string(b[:]) != "ping\n" {
		return fmt.Errorf("echo returned %q", b[:])
	}
	return nil
}

// eventually polls cond until it holds or a generous deadline passes, so
// tests wait as long as a loaded machine needs and no longer.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// manualClock is a clock for strategy.WithClock that moves only when told.
type manualClock struct{ now atomic.Int64 }

func newClock() *manualClock {
	c := &manualClock{}
	c.now.Store(int64(time.Hour)) // any start; only differences matter
	return c
}

func (c *manualClock) Now() time.Duration      { return time.Duration(c.now.Load()) }
func (c *manualClock) Advance(d time.Duration) { c.now.Add(int64(d)) }

// errApp is an application-level error: the connection is fine.
var errApp = errors.New("app: not found")

func bg() context.Context { return context.Background() }

// noContext is the nil context, the bad input some tests pass on purpose.
var noContext context.Context
