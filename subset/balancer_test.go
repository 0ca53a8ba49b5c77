package subset_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/strategy"
	"github.com/seed41aebe0c/lbkit/subset"
)

// hits counts the requests each backend served, by client.
type hits struct {
	mu sync.Mutex
	n  map[string]map[string]int // backend → client → requests
}

func (h *hits) add(backend, client string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n[backend] == nil {
		h.n[backend] = map[string]int{}
	}
	h.n[backend][client]++
}

// startBackends starts n HTTP servers on 127.0.0.1 that count their
// requests by the X-Client header.
func startBackends(t *testing.T, n int, h *hits) []string {
	t.Helper()
	var out []string
	for range n {
		var addr string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.add(addr, r.Header.Get("X-Client"))
			io.WriteString(w, "ok")
		}))
		addr = strings.TrimPrefix(srv.URL, "http://")
		t.Cleanup(srv.Close)
		out = append(out, addr)
	}
	return out
}

// httpFactory makes, per instance, an endpoint that GETs it as client.
func httpFactory(tr *http.Transport, client string) loadbalancer.Factory {
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	return func(instance string) (endpoint.Endpoint, io.Closer, error) {
		return func(ctx context.Context, _ any) (any, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+instance+"/", nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("X-Client", client)
			resp, err := hc.Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			_, err = io.Copy(io.Discard, resp.Body)
			return nil, err
		}, nil, nil
	}
}

// client is one process of the fleet: its subset and its balancer.
type client struct {
	id  string
	sub *subset.Publisher
	lb  *loadbalancer.Balancer
}

func hostsOf(b *loadbalancer.Balancer) []string {
	var out []string
	for _, h := range b.Status().Hosts {
		out = append(out, h.Address)
	}
	return sorted(out)
}

// Six clients find their coordinate from a peers publisher, subset twelve
// real HTTP backends on 127.0.0.1 four each, and send their requests
// through lbkit balancers: every backend serves exactly two clients and
// the same number of requests. Then a seventh client joins and every
// balancer follows its new subset. Round-robin makes each client spread
// evenly over its subset, which is the premise of the equal load: the
// subset is what is under test.
func TestBalancersOverSubsetsShareTheBackendsEvenly(t *testing.T) {
	const backends, clients, size, perClient = 12, 6, 4, 40
	h := &hits{n: map[string]map[string]int{}}
	addrs := startBackends(t, backends, h)
	back, err := static.NewAddresses(addrs...)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Stop()
	ids := make([]string, clients)
	for n := range ids {
		ids[n] = fmt.Sprintf("client-%d", n)
	}
	peers, err := static.NewAddresses(ids...)
	if err != nil {
		t.Fatal(err)
	}
	defer peers.Stop()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()

	start := func(id string) *client {
		sub, err := subset.New(back, size, subset.Peers(peers, id))
		if err != nil {
			t.Fatal(err)
		}
		lb, err := loadbalancer.New(sub, httpFactory(tr, id), loadbalancer.WithStrategy(strategy.RoundRobin{}))
		if err != nil {
			sub.Stop()
			t.Fatal(err)
		}
		return &client{id: id, sub: sub, lb: lb}
	}
	var fleet []*client
	defer func() {
		for _, c := range fleet {
			c.lb.Close()
			c.sub.Stop()
		}
	}()
	for _, id := range ids {
		fleet = append(fleet, start(id))
	}

	var wg sync.WaitGroup
	errs := make(chan error, clients*perClient)
	for _, c := range fleet {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perClient {
				e, err := c.lb.Endpoint()
				if err == nil {
					_, err = e(context.Background(), nil)
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", c.id, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	for _, a := range addrs {
		served := h.n[a]
		if len(served) != clients*size/backends {
			t.Errorf("backend %s served %d clients %v, want %d", a, len(served), served, clients*size/backends)
		}
		total := 0
		for _, n := range served {
			total += n
		}
		if want := clients * perClient / backends; total != want {
			t.Errorf("backend %s served %d requests, want %d", a, total, want)
		}
	}
	for rank, c := range fleet {
		want := sorted(mustAssign(t, addrs, rank, clients, size))
		if got := hostsOf(c.lb); !slices.Equal(got, want) {
			t.Errorf("%s balances over %v, want its subset %v", c.id, got, want)
		}
	}

	// A seventh client registers: every balancer moves to its new subset.
	joined := append(slices.Clone(ids), "client-6")
	if err := peers.Replace(publisher.FromAddresses(joined...)...); err != nil {
		t.Fatal(err)
	}
	fleet = append(fleet, start("client-6"))
	deadline := time.Now().Add(5 * time.Second)
	for rank, c := range fleet {
		want := sorted(mustAssign(t, addrs, rank, len(joined), size))
		// Rank 0 keeps its subset: wait for the coordinate as well.
		for (!slices.Equal(hostsOf(c.lb), want) || c.sub.Stats().Count != len(joined)) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got := hostsOf(c.lb); !slices.Equal(got, want) {
			t.Errorf("after the join %s balances over %v, want %v", c.id, got, want)
		}
		if st := c.sub.Stats(); st.Rank != rank || st.Count != len(joined) {
			t.Errorf("%s: Stats rank %d of %d, want %d of %d", c.id, st.Rank, st.Count, rank, len(joined))
		}
	}
}
