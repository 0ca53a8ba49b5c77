package dnssrv

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/seed41aebe0c/lbkit/integration/internal/lbtest"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
)

// backend is one HTTP server on 127.0.0.1 that answers with its name and
// counts the calls it served.
type backend struct {
	name  string
	srv   *httptest.Server
	port  uint16
	calls atomic.Int64
}

func startBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		b.calls.Add(1)
		io.WriteString(w, b.name)
	}))
	t.Cleanup(b.srv.Close)
	_, port, err := net.SplitHostPort(b.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	b.port = uint16(p)
	return b
}

// httpFactory makes, for each instance "host:port", a go-kit HTTP client
// endpoint that GETs / and returns the body. The host is resolved once,
// through res, when the instance appears: calls then need no DNS, which is
// why traffic survives the DNS server's outage. seen is told of every
// instance the factory is asked for, when it is asked.
func httpFactory(res *net.Resolver, seen func(instance string)) loadbalancer.Factory {
	return func(instance string) (endpoint.Endpoint, io.Closer, error) {
		if seen != nil {
			seen(instance)
		}
		host, port, err := net.SplitHostPort(instance)
		if err != nil {
			return nil, nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ips, err := res.LookupHost(ctx, host)
		if err != nil {
			return nil, nil, err
		}
		tr := &http.Transport{MaxIdleConnsPerHost: 4}
		client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		u := &url.URL{Scheme: "http", Host: net.JoinHostPort(ips[0], port), Path: "/"}
		ep := httptransport.NewClient(http.MethodGet, u,
			func(context.Context, *http.Request, any) error { return nil },
			func(_ context.Context, r *http.Response) (any, error) {
				body, err := io.ReadAll(r.Body)
				if err != nil {
					return nil, err
				}
				if r.StatusCode != http.StatusOK {
					return nil, fmt.Errorf("status %d", r.StatusCode)
				}
				return string(body), nil
			},
			httptransport.SetClient(client),
		).Endpoint()
		return ep, lbtest.CloserFunc(tr.CloseIdleConnections), nil
	}
}
