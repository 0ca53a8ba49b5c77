package pooling

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// RequestTransport is an http.RoundTripper that picks a host for every
// request, as pooly's transport did by turning keep-alive off, but over
// kept-alive connections: each host has its own http.Transport whose
// connections are borrowed from the host's pool, and a request is sent
// over one of the picked host's connections. So sequential requests follow
// the service's strategy (round-robin alternates), and each outcome is
// recorded against its host per request: in flight from RoundTrip until
// the response headers (or the error), scored by the service's host Scorer
// (strategy.ErrorScorer by default: a transport error is a failure, any
// HTTP status a success).
//
// A host whose pool cannot give a connection (it refuses connections, or
// its pool stays exhausted) never received the request, so another host is
// tried, up to the get attempts (WithGetAttempts), if the request has no
// body or can rewind it (Request.GetBody). Other errors are returned: a
// request that may have reached a host is retried by the caller's policy
// (retry.Retrier), not here.
//
// The per-host transports have NewHTTPTransport's settings (HTTP/1.1,
// DefaultHTTPMaxIdleConnsPerHost). A removed host's transport closes its
// idle connections when the pool closes, so Service.Remove and Close do
// not wait for them. Use a NetDriver without read timeout, as for
// NewHTTPTransport.
type RequestTransport struct {
	svc *Service[net.Conn]
}

var _ http.RoundTripper = (*RequestTransport)(nil)

// NewRequestTransport returns a RequestTransport over svc. A nil svc is an
// invalid argument.
func NewRequestTransport(svc *Service[net.Conn]) (*RequestTransport, error) {
	if svc == nil {
		return nil, invalid("nil service")
	}
	return &RequestTransport{svc: svc}, nil
}

// RoundTrip implements http.RoundTripper: it sends req to the host the
// service's strategy picks, whatever req's URL host is. It returns
// ErrNoHosts (wrapped with the last host's error when every attempt failed
// to get a connection) and ErrClosed after the service's Close.
func (rt *RequestTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var tried [maxTried]string
	n := 0
	var lastErr error
	for attempt := range rt.svc.getAttempts {
		m, err := rt.svc.set.Pick(tried[:n])
		if err != nil {
			if lastErr == nil || errors.Is(err, ErrClosed) {
				closeBody(req)
				return nil, err
			}
			break
		}
		if attempt > 0 {
			if req, err = rewind(req); err != nil {
				return nil, errors.Join(lastErr, err)
			}
		}
		h := m.Host
		start := h.Begin()
		resp, err := m.Value.httpTransport().RoundTrip(req)
		var nc *noConnError
		if !errors.As(err, &nc) { // a response, or the host may have seen the request
			h.Record(req.Context(), start, err)
			return resp, err
		}
		if errors.Is(err, ErrClosed) {
			h.Abandon(start) // removed meanwhile: not the host's fault
		} else {
			h.Record(req.Context(), start, err)
		}
		lastErr = err
		if req.Context().Err() != nil || !replayable(req) {
			return nil, err
		}
		if n < maxTried {
			tried[n] = h.Address()
			n++
		}
	}
	return nil, errors.Join(ErrNoHosts, lastErr)
}

// CloseIdleConnections closes the idle connections of every host's
// transport, which gives them back to the pools.
func (rt *RequestTransport) CloseIdleConnections() {
	for _, m := range rt.svc.set.Members() {
		if t := m.Value.http.Load(); t != nil {
			t.CloseIdleConnections()
		}
	}
}

// noConnError is a per-host transport's dial failure: the pool gave no
// connection, so the request was not sent.
type noConnError struct{ err error }

func (e *noConnError) Error() string { return e.err.Error() }
func (e *noConnError) Unwrap() error { return e.err }

// replayable reports whether req can be sent again after a failed attempt.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// rewind returns req ready for another attempt, with a fresh body.
func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Body = body
	return r, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// httpTransport returns the pool's own http.Transport, made on first use.
func (p *Pool[C]) httpTransport() *http.Transport {
	if t := p.http.Load(); t != nil {
		return t
	}
	np, _ := any(p).(*Pool[net.Conn])
	t := newHostTransport(np)
	base := t.DialContext
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := base(ctx, network, addr)
		if err != nil {
			return nil, &noConnError{err: err}
		}
		return c, nil
	}
	if !p.http.CompareAndSwap(nil, t) {
		return p.http.Load()
	}
	return t
}

// shutHTTP closes the idle connections of the pool's transport, if it has
// one, now and, for those in flight now, once more at the close deadline.
func (p *Pool[C]) shutHTTP() {
	t := p.http.Load()
	if t == nil {
		return
	}
	t.CloseIdleConnections()
	time.AfterFunc(p.cfg.closeDeadline, t.CloseIdleConnections)
}
