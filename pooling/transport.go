package pooling

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// HTTP transport settings: http.DefaultTransport's, except the idle limit
// per host, which is raised because every request of the transport goes to
// "one host" (the service) as far as http.Transport can tell.
const (
	// DefaultHTTPMaxIdleConnsPerHost is the MaxIdleConnsPerHost of a
	// transport from NewHTTPTransport.
	DefaultHTTPMaxIdleConnsPerHost = 100
	// DefaultHTTPIdleConnTimeout is its IdleConnTimeout.
	DefaultHTTPIdleConnTimeout = 90 * time.Second
)

// NewHTTPTransport returns an *http.Transport whose connections come from
// svc: each new connection the transport opens is a GetConn, so the
// service's strategy picks the host whatever the request URL's host is (use
// any name for it, such as the service's), and the service's pools bound
// the connections per host.
//
// http.Transport keeps its own idle connections and closes one when it is
// done with it (idle too long, an error, a body not read to the end). The
// state of a stream it closed is unknown, so closing discards the
// connection rather than pooling it again, and releases it to the service
// with strategy.HostUp, or strategy.HostDown if a read or write on it
// failed (end of stream excepted: that is how a server closes an idle
// keep-alive connection). The
// host is thus picked, and scored, per connection, not per request: with
// keep-alive, sequential requests ride one connection to one host. For a
// pick and a score per request over kept-alive connections use
// RequestTransport.
//
// Use a NetDriver without read timeout: http.Transport reads from idle
// connections to notice when the server closes them, and a read deadline
// would close them instead. The transport's settings are
// http.DefaultTransport's with DefaultHTTPMaxIdleConnsPerHost, no proxy,
// and HTTP/1.1 only: HTTP/2 would carry every request over one connection,
// and so to one host. A nil svc gives a transport whose dials fail with
// ErrInvalidArgument.
func NewHTTPTransport(svc *Service[net.Conn]) *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			if svc == nil {
				return nil, invalid("nil service")
			}
			c, err := svc.GetConn(ctx)
			if err != nil {
				return nil, err
			}
			return &httpConn{Conn: c.Value(), lease: c}, nil
		},
		MaxIdleConns:          DefaultHTTPMaxIdleConnsPerHost,
		MaxIdleConnsPerHost:   DefaultHTTPMaxIdleConnsPerHost,
		IdleConnTimeout:       DefaultHTTPIdleConnTimeout,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// httpConn is a borrowed connection lent to http.Transport for as long as
// the transport keeps it.
type httpConn struct {
	net.Conn
	lease Conn[net.Conn]

	mu     sync.Mutex
	failed error // the first read or write error that blames the host
	closed bool
}

func (c *httpConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil {
		c.note(err)
	}
	return n, err
}

func (c *httpConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err != nil {
		c.note(err)
	}
	return n, err
}

func (c *httpConn) note(err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return
	}
	c.mu.Lock()
	if c.failed == nil && !c.closed {
		c.failed = err
	}
	c.mu.Unlock()
}

// Close discards the connection and releases it to the service, once.
func (c *httpConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	err := c.failed
	c.mu.Unlock()
	score, _ := strategy.ErrorScorer(err, 0) // HostUp, or HostDown after a failure
	return c.lease.Discard(err, score)
}

// NetConn returns the underlying connection.
func (c *httpConn) NetConn() net.Conn { return c.Conn }
