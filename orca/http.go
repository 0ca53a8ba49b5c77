package orca

import (
	"context"
	"net/http"
	"net/textproto"

	httptransport "github.com/go-kit/kit/transport/http"
)

// headerKey is Header as net/http keys it.
var headerKey = textproto.CanonicalMIMEHeaderKey(Header)

// set puts the current report in h, sharing the value slice (net/http
// only reads it): no allocation.
func (r *Reporter) set(h http.Header) {
	if v := r.value.Load(); v != nil {
		h[headerKey] = *v
	}
}

// Handler is HTTP middleware: it sends the current report in the
// endpoint-load-metrics header of every response of next, and counts the
// request, as failed if next answers with a 5xx status.
func (r *Reporter) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.set(w.Header())
		sw := statusWriter{ResponseWriter: w}
		defer func() { r.Served(sw.code >= 500) }()
		next.ServeHTTP(&sw, req)
	})
}

// statusWriter notes the status a handler sends.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer's
// Flush, Hijack and deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ServerAfter is the same for a go-kit HTTP server
// (httptransport.ServerAfter(r.ServerAfter())): it sends the report with
// each successful response and counts it. go-kit does not run ServerAfter
// when the endpoint fails; wrap the server's error encoder with
// ServerErrorEncoder to report (and count) those responses too.
func (r *Reporter) ServerAfter() httptransport.ServerResponseFunc {
	return func(ctx context.Context, w http.ResponseWriter) context.Context {
		r.set(w.Header())
		r.Served(false)
		return ctx
	}
}

// ServerErrorEncoder wraps a go-kit server's error encoder (nil means
// go-kit's DefaultErrorEncoder): the error response carries the report,
// and the request counts as failed (in EPS).
func (r *Reporter) ServerErrorEncoder(enc httptransport.ErrorEncoder) httptransport.ErrorEncoder {
	if enc == nil {
		enc = httptransport.DefaultErrorEncoder
	}
	return func(ctx context.Context, err error, w http.ResponseWriter) {
		r.set(w.Header())
		r.Served(true)
		enc(ctx, err, w)
	}
}

// ClientAfter is the client side for go-kit's HTTP client
// (httptransport.ClientAfter(orca.ClientAfter(reports, instance)) in the
// factory that makes instance's endpoint): it hands the report in each
// response's endpoint-load-metrics header to the host of instance. A
// response without one, or with one that does not parse, changes nothing
// (Reports.Stats counts the latter). reports must not be nil.
func ClientAfter(reports *Reports, instance string) httptransport.ClientResponseFunc {
	return func(ctx context.Context, resp *http.Response) context.Context {
		if v := resp.Header[headerKey]; len(v) > 0 {
			_ = reports.ReportHeader(instance, v[0])
		}
		return ctx
	}
}

// ClientFinalizer is ClientAfter as a go-kit client finalizer
// (httptransport.ClientFinalizer), for clients that already use one: it
// reads the response headers go-kit leaves in the context.
func ClientFinalizer(reports *Reports, instance string) httptransport.ClientFinalizerFunc {
	return func(ctx context.Context, _ error) {
		if h, ok := ctx.Value(httptransport.ContextKeyResponseHeaders).(http.Header); ok {
			if v := h[headerKey]; len(v) > 0 {
				_ = reports.ReportHeader(instance, v[0])
			}
		}
	}
}
