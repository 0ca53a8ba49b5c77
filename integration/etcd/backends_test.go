package etcd

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/seed41aebe0c/lbkit/endpointcache"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
)

// backend is one HTTP server on 127.0.0.1 that answers with its name and
// counts the calls it served.
type backend struct {
	name  string
	srv   *httptest.Server
	addr  string
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
	b.addr = b.srv.Listener.Addr().String()
	return b
}

// httpFactory makes, for each instance "host:port", a go-kit HTTP client
// endpoint that GETs / and returns the body; its closer closes the
// endpoint's idle connections. seen, if not nil, is told of every instance
// the factory is asked for, when it is asked, and closed of every closer
// run.
func httpFactory(seen, closed func(instance string)) endpointcache.Factory {
	return func(instance string) (endpoint.Endpoint, io.Closer, error) {
		if seen != nil {
			seen(instance)
		}
		if _, _, err := net.SplitHostPort(instance); err != nil {
			return nil, nil, err
		}
		tr := &http.Transport{MaxIdleConnsPerHost: 4}
		client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		u := &url.URL{Scheme: "http", Host: instance, Path: "/"}
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
		return ep, closerFunc(func() {
			tr.CloseIdleConnections()
			if closed != nil {
				closed(instance)
			}
		}), nil
	}
}

type closerFunc func()

func (f closerFunc) Close() error { f(); return nil }

// call makes one call through the balancer.
func call(b *loadbalancer.Balancer) (string, error) {
	ep, err := b.Endpoint()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := ep(ctx, nil)
	if err != nil {
		return "", err
	}
	return resp.(string), nil
}

// callN makes n sequential calls and returns how many each backend name
// answered; any failure fails the test.
func callN(t *testing.T, b *loadbalancer.Balancer, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		name, err := call(b)
		if err != nil {
			t.Fatalf("call: %v", err)
		}
		got[name]++
	}
	return got
}

// waitHosts waits until the balancer's live set is exactly want.
func waitHosts(t *testing.T, b *loadbalancer.Balancer, want ...string) {
	t.Helper()
	slices.Sort(want)
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := b.Status()
		var got []string
		for _, h := range st.Hosts {
			got = append(got, h.Address)
		}
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("balancer hosts %v (discovery error %v), want %v", got, st.DiscoveryErr, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// traffic calls the balancer in a loop, bounded in count, until stopped.
type traffic struct {
	stop     chan struct{}
	done     chan struct{}
	ok, fail atomic.Int64
	mu       sync.Mutex
	errs     []error
}

func startTraffic(b *loadbalancer.Balancer, max int) *traffic {
	tr := &traffic{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(tr.done)
		for range max {
			select {
			case <-tr.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			if _, err := call(b); err != nil {
				tr.fail.Add(1)
				tr.mu.Lock()
				if len(tr.errs) < 5 {
					tr.errs = append(tr.errs, err)
				}
				tr.mu.Unlock()
				continue
			}
			tr.ok.Add(1)
		}
	}()
	return tr
}

// end stops the loop and fails the test if any call failed.
func (tr *traffic) end(t *testing.T) {
	t.Helper()
	close(tr.stop)
	<-tr.done
	if n := tr.fail.Load(); n > 0 {
		t.Fatalf("%d of %d calls failed, first errors: %v", n, n+tr.ok.Load(), tr.errs)
	}
}

// percentile returns the p-th percentile (nearest rank) of ds, sorted in
// place.
func percentile(ds []time.Duration, p float64) time.Duration {
	slices.Sort(ds)
	rank := int(p/100*float64(len(ds))+0.999999) - 1
	return ds[max(0, min(rank, len(ds)-1))]
}
