//go:build unix

package pooling

import (
	"net"
	"sync"
	"syscall"
)

// checkIdle reads from an idle connection without blocking. A live, quiet
// connection has nothing to read (EAGAIN); one the peer closed reads end of
// stream; one with bytes waiting is out of step with its protocol.
func checkIdle(c net.Conn) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	p := peekers.Get().(*peeker)
	err = rc.Read(p.fn)
	result := p.result
	p.result = nil
	peekers.Put(p)
	if err != nil {
		return err
	}
	return result
}

// peeker is reused across checks so that the function handed to
// RawConn.Read, which escapes, is made once rather than per borrow.
type peeker struct {
	fn     func(fd uintptr) bool
	result error
	buf    [1]byte
}

var peekers = sync.Pool{New: func() any {
	p := &peeker{}
	p.fn = p.peek
	return p
}}

func (p *peeker) peek(fd uintptr) bool {
	n, err := syscall.Read(int(fd), p.buf[:])
	switch {
	case n > 0:
		p.result = ErrUnexpectedData
	case n == 0 && err == nil:
		p.result = ErrPeerClosed
	case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR:
		p.result = nil
	default:
		p.result = err
	}
	return true // never wait for readiness: this is a peek, not a read
}
