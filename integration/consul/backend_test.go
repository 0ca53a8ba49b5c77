package consul

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/hashicorp/consul/api"

	"github.com/seed41aebe0c/lbkit/integration/internal/lbtest"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
)

// backend is a real HTTP server on 127.0.0.1 that answers with its name
// and whose health endpoint the test can fail.
type backend struct {
	name    string
	srv     *httptest.Server
	hits    atomic.Int64
	healthy atomic.Bool
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name}
	b.healthy.Store(true)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		io.WriteString(w, b.name)
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if !b.healthy.Load() {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	})
	b.srv = httptest.NewServer(mux) // listens on 127.0.0.1:0
	t.Cleanup(b.srv.Close)
	return b
}

// port is the backend's port on 127.0.0.1.
func (b *backend) port() int { return b.srv.Listener.Addr().(*net.TCPAddr).Port }

// address is what the publisher should produce for the backend.
func (b *backend) address() string { return "127.0.0.1:" + strconv.Itoa(b.port()) }

// registration describes the backend to Consul.
func (b *backend) registration() *api.AgentServiceRegistration {
	return &api.AgentServiceRegistration{
		ID: b.name, Name: serviceName, Address: "127.0.0.1", Port: b.port(),
		Tags: []string{"lbkit", "http"},
	}
}

const serviceName = "lbkit-web"

// httpFactory builds, for each instance, an endpoint that GETs "/" from it
// and answers with the body: what a go-kit HTTP client endpoint does,
// without the codec.
type httpFactory struct {
	client *http.Client
}

func newHTTPFactory(t *testing.T) *httpFactory {
	f := &httpFactory{client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 5 * time.Second}}
	t.Cleanup(f.client.CloseIdleConnections)
	return f
}

func (f *httpFactory) factory(instance string) (endpoint.Endpoint, io.Closer, error) {
	url := "http://" + instance + "/"
	ep := func(ctx context.Context, _ any) (any, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := f.client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: status %d", instance, resp.StatusCode)
		}
		return string(body), nil
	}
	return ep, nil, nil
}

// answering makes n calls and counts the answers per backend name; errors
// count under "error".
func answering(b *loadbalancer.Balancer, n int) map[string]int {
	seen := map[string]int{}
	for range n {
		name, err := lbtest.Call(b)
		if err != nil {
			name = "error"
		}
		seen[name]++
	}
	return seen
}

// eventually polls cond every 10ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hasHosts reports whether the balancer's live set is exactly addrs.
func hasHosts(b *loadbalancer.Balancer, addrs ...string) bool {
	hosts := b.Status().Hosts
	if len(hosts) != len(addrs) {
		return false
	}
	want := map[string]bool{}
	for _, a := range addrs {
		want[a] = true
	}
	for _, h := range hosts {
		if !want[h.Address] {
			return false
		}
	}
	return true
}
