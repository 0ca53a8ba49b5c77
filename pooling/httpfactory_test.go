package pooling_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/pooling"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// httpBackend is a real HTTP server on 127.0.0.1 that answers with its
// address and counts the connections open on its side.
type httpBackend struct {
	srv  *httptest.Server
	open atomic.Int64
}

func startHTTPBackend(t *testing.T) *httpBackend {
	t.Helper()
	b := &httpBackend{}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Host)
	}))
	b.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			b.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			b.open.Add(-1)
		}
	}
	b.srv.Start()
	t.Cleanup(b.srv.Close)
	return b
}

func (b *httpBackend) addr() string { return b.srv.Listener.Addr().String() }

// goKitGet is the HTTPEndpoint of the tests: a go-kit HTTP client endpoint
// that GETs "/" from the instance and returns the body.
func goKitGet(instance string, client *http.Client) (endpoint.Endpoint, error) {
	u, err := url.Parse("http://" + instance + "/")
	if err != nil {
		return nil, err
	}
	return httptransport.NewClient(http.MethodGet, u,
		func(context.Context, *http.Request, any) error { return nil },
		func(_ context.Context, r *http.Response) (any, error) {
			b, err := io.ReadAll(r.Body)
			return string(b), err
		},
		httptransport.SetClient(client),
	).Endpoint(), nil
}

// TestHTTPFactoryUnderGoKitClient: go-kit HTTP client endpoints over a
// per-host pool, under a balancer. Calls reuse one connection per host;
// removing a host closes its connections at once (http.Transport held
// them as its idle connections, borrowed from the pool's point of view),
// and a new host takes calls as soon as the balancer has it.
func TestHTTPFactoryUnderGoKitClient(t *testing.T) {
	a, b := startHTTPBackend(t), startHTTPBackend(t)
	f, err := pooling.HTTPFactory(tcpDriver(t), goKitGet, pooling.WithPrespawn(0), pooling.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := static.NewAddresses(a.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	lb, err := loadbalancer.New(pub, f, loadbalancer.WithStrategy(strategy.RoundRobin{}))
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	call := func() string {
		t.Helper()
		ep, err := lb.Endpoint()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ep(bg(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp.(string)
	}
	for range 5 {
		if got := call(); got != a.addr() {
			t.Fatalf("answer %q, want %q", got, a.addr())
		}
	}
	if n := a.open.Load(); n != 1 {
		t.Fatalf("%d connections to a for 5 sequential calls, want 1 (kept alive)", n)
	}

	// a leaves, b arrives: a's connection, idle in the transport, is
	// closed at once, and b answers the first call after the update.
	removed := time.Now()
	if err := pub.Replace(publisher.Instance{Address: b.addr()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b in the balancer", func() bool {
		h := lb.Status().Hosts
		return len(h) == 1 && h[0].Address == b.addr()
	})
	if got := call(); got != b.addr() {
		t.Fatalf("first call after the update: %q, want %q", got, b.addr())
	}
	eventually(t, "a's connection closed", func() bool { return a.open.Load() == 0 })
	if d := time.Since(removed); d > 5*time.Second {
		t.Fatalf("a's idle connection closed %v after its removal, want at once", d)
	}
	if n := b.open.Load(); n != 1 {
		t.Fatalf("%d connections to b, want 1", n)
	}
	if err := pub.Replace(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b's connection closed", func() bool { return b.open.Load() == 0 })
}

// TestHTTPFactoryClosesInFlightConnectionWhenDone: a host removed while a
// request is in flight: the closer returns at once, the request completes,
// and its connection is closed when it ends instead of going back to the
// transport's idle list.
func TestHTTPFactoryClosesInFlightConnectionWhenDone(t *testing.T) {
	release := make(chan struct{})
	var open atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "done")
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	defer srv.Close()
	f, err := pooling.HTTPFactory(tcpDriver(t), goKitGet, pooling.WithPrespawn(0))
	if err != nil {
		t.Fatal(err)
	}
	ep, closer, err := f(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() { _, err := ep(bg(), nil); res <- err }()
	eventually(t, "the request in flight", func() bool { return open.Load() == 1 })
	start := time.Now()
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("closer took %v with a request in flight", d)
	}
	close(release)
	if err := <-res; err != nil {
		t.Fatalf("the request in flight failed: %v", err)
	}
	eventually(t, "its connection closed", func() bool { return open.Load() == 0 })
	if _, err := ep(bg(), nil); !errors.Is(err, pooling.ErrClosed) {
		t.Fatalf("request after close = %v, want ErrClosed", err)
	}
}

func TestHTTPFactoryBadInput(t *testing.T) {
	d := tcpDriver(t)
	if _, err := pooling.HTTPFactory(nil, goKitGet); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("nil driver: %v", err)
	}
	if _, err := pooling.HTTPFactory(d, nil); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("nil build: %v", err)
	}
	if _, err := pooling.HTTPFactory(d, goKitGet, pooling.WithMaxConns(-1)); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("bad option: %v", err)
	}
	f, err := pooling.HTTPFactory(d, func(string, *http.Client) (endpoint.Endpoint, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f("127.0.0.1:1"); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("nil endpoint: %v", err)
	}
	f, err = pooling.HTTPFactory(d, goKitGet)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f(""); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("empty instance: %v", err)
	}
}
