package pooling

import (
	"context"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
)

// HTTPEndpoint builds the endpoint of one instance, making its requests
// with client, whose Transport dials through the instance's own pool. With
// go-kit's HTTP transport:
//
//	func(instance string, client *http.Client) (endpoint.Endpoint, error) {
//		u, err := url.Parse("http://" + instance + "/uppercase")
//		if err != nil {
//			return nil, err
//		}
//		return httptransport.NewClient(http.MethodPost, u, encode, decode,
//			httptransport.SetClient(client)).Endpoint(), nil
//	}
type HTTPEndpoint func(instance string, client *http.Client) (endpoint.Endpoint, error)

// HTTPFactory returns a go-kit sd.Factory that puts a pool under the HTTP
// client of every instance (go-kit's httptransport.NewClient, or any
// endpoint built over an *http.Client): each instance gets its own Pool of
// connections made by driver with opts, an *http.Transport whose every new
// connection is borrowed from that pool (HTTP/1.1, the idle limits of
// NewHTTPTransport), and an *http.Client over it, which build turns into
// the instance's endpoint. The pool bounds the connections per instance
// (WithMaxConns); http.Transport reuses them between requests, and gives
// one back to the pool, which closes it, when it is done with it.
//
// The closer, which a balancer runs when the instance leaves, returns at
// once: it closes the pool (idle connections at once, Get fails with
// ErrClosed) and the transport's idle connections, and every connection
// still carrying a request is closed when its response is done, or at the
// latest when the close deadline (WithCloseDeadline) has passed. A new
// instance's endpoint is usable as soon as the factory returns it.
//
// Use a NetDriver without read timeout, as for NewHTTPTransport.
func HTTPFactory(driver Driver[net.Conn], build HTTPEndpoint, opts ...PoolOption) (sd.Factory, error) {
	if build == nil {
		return nil, invalid("nil HTTPEndpoint")
	}
	return perInstance(driver, opts, func(instance string, p *Pool[net.Conn]) (endpoint.Endpoint, io.Closer, error) {
		t := newHostTransport(p)
		ep, err := build(instance, &http.Client{Transport: t})
		if err == nil && ep == nil {
			err = invalid("HTTPEndpoint returned a nil endpoint for %q", instance)
		}
		if err != nil {
			return nil, nil, err
		}
		return ep, &hostHTTP{pool: p, transport: t}, nil
	})
}

// newHostTransport is an *http.Transport whose connections are borrowed
// from p.
func newHostTransport(p *Pool[net.Conn]) *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, err := p.Get(ctx)
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

// hostHTTP is HTTPFactory's closer.
type hostHTTP struct {
	pool      *Pool[net.Conn]
	transport *http.Transport
}

func (h *hostHTTP) Close() error {
	// The pool first, so that no request can dial again; then the
	// transport, whose CloseIdleConnections closes its idle connections
	// and those that become idle later, as the requests in flight end. A
	// request started meanwhile could undo that last part; the timer
	// bounds how long such a connection can stay open.
	h.pool.closeNow()
	h.transport.CloseIdleConnections()
	time.AfterFunc(h.pool.cfg.closeDeadline, h.transport.CloseIdleConnections)
	return nil
}
