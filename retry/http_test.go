package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// These tests run real HTTP servers on 127.0.0.1 and reach them through
// go-kit HTTP client endpoints made by a factory, an lbkit balancer and a
// Retrier: the chain as a user builds it.

// errStatus is what the client endpoint returns for a non-200 answer.
type errStatus int

func (e errStatus) Error() string { return fmt.Sprintf("HTTP status %d", int(e)) }

// httpFactory makes a go-kit HTTP client endpoint for an instance address,
// over one shared transport that the test closes.
func httpFactory(client *http.Client) loadbalancer.Factory {
	return func(instance string) (endpoint.Endpoint, io.Closer, error) {
		u, err := url.Parse("http://" + instance + "/")
		if err != nil {
			return nil, nil, err
		}
		c := httptransport.NewClient(http.MethodGet, u,
			func(context.Context, *http.Request, any) error { return nil },
			func(_ context.Context, r *http.Response) (any, error) {
				body, err := io.ReadAll(r.Body)
				if err != nil {
					return nil, err
				}
				if r.StatusCode != http.StatusOK {
					return nil, errStatus(r.StatusCode)
				}
				return string(body), nil
			},
			httptransport.SetClient(client))
		return c.Endpoint(), nil, nil
	}
}

// testClient returns an HTTP client whose idle connections are closed when
// the test ends, so that goleak sees no transport goroutines.
func testClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func hostOf(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

// balancerOver returns an lbkit balancer over addrs, random or round robin.
func balancerOver(t *testing.T, client *http.Client, random bool, addrs ...string) *loadbalancer.Balancer {
	t.Helper()
	pub, err := static.NewAddresses(addrs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.Stop)
	var s strategy.Strategy = strategy.RoundRobin{}
	if random {
		s = strategy.Random{}
	}
	bal, err := loadbalancer.New(pub, httpFactory(client), loadbalancer.WithStrategy(s))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bal.Close() })
	return bal
}

// TestHTTPAnotherHostOnRetry: three backends, one of which always fails.
// With lbkit's balancer no request is retried onto the failing backend
// while another is untried, so every request succeeds by its second
// attempt. Without host avoidance (go-kit's behaviour) retries do land on
// it again.
func TestHTTPAnotherHostOnRetry(t *testing.T) {
	healthy := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, name)
		}))
	}
	a, b := healthy("a"), healthy("b")
	defer a.Close()
	defer b.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	defer bad.Close()
	client := testClient(t)
	addrs := []string{hostOf(a), hostOf(b), hostOf(bad)}

	run := func(opts ...retry.Option) (calls [][]retry.Attempt) {
		// Random picks make a repeat of the failing host likely when
		// nothing prevents it (round robin would avoid it by accident).
		bal := balancerOver(t, client, true, addrs...)
		var cur []retry.Attempt
		opts = append(opts, retry.WithoutBackoff(), retry.WithoutBudget(), retry.WithMaxAttempts(3),
			retry.WithObserver(func(at retry.Attempt) { cur = append(cur, at) }))
		r := mustNew(t, bal, opts...)
		for range 300 {
			cur = nil
			r.Endpoint()(context.Background(), nil)
			calls = append(calls, cur)
		}
		return calls
	}

	firstOnBad, repeats := 0, 0
	for i, call := range run() {
		if call[0].Host == hostOf(bad) {
			firstOnBad++
		}
		tried := map[string]bool{}
		for _, at := range call {
			if tried[at.Host] && len(tried) < len(addrs) {
				t.Fatalf("call %d: attempt %d went back to %s while a host was untried: %+v", i, at.N, at.Host, call)
			}
			tried[at.Host] = true
		}
		if last := call[len(call)-1]; last.Err != nil || len(call) > 2 {
			t.Fatalf("call %d did not succeed by its second attempt: %+v", i, call)
		}
	}
	if firstOnBad == 0 {
		t.Fatal("no call started on the failing backend: the test proves nothing")
	}
	for _, call := range run(retry.WithoutHostAvoidance()) {
		for _, at := range call[1:] {
			if at.Host == "" && at.Err != nil && errors.Is(at.Err, errStatus(500)) {
				repeats++
			}
		}
	}
	t.Logf("with avoidance: %d of 300 calls started on the failing backend, none retried onto it; "+
		"without: %d retries failed on it again", firstOnBad, repeats)
	if repeats == 0 {
		t.Fatal("without host avoidance no retry hit the failing backend again; the contrast is missing")
	}
}

// backend serves at most slots requests at once, each taking work; up to
// queue more wait for a slot and the rest are turned away at once with 503.
// Like most servers, it finishes what it started even when the client has
// gone.
type backend struct {
	slots   chan struct{}
	queue   int64
	work    time.Duration
	queued  atomic.Int64
	arrived atomic.Int64
	served  atomic.Int64
}

func newBackend(slots, queue int, work time.Duration) *backend {
	return &backend{slots: make(chan struct{}, slots), queue: int64(queue), work: work}
}

func (b *backend) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	b.arrived.Add(1)
	select {
	case b.slots <- struct{}{}:
	default:
		if b.queued.Add(1) > b.queue {
			b.queued.Add(-1)
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		b.slots <- struct{}{}
		b.queued.Add(-1)
	}
	time.Sleep(b.work)
	<-b.slots
	b.served.Add(1)
	io.WriteString(w, "ok")
}

// TestHTTPRetryStorm: three backends that each serve 5 requests at once,
// taking 20ms each (250 requests/s per backend) with a queue of 50, one of
// them down (connection refused). Requests arrive at a steady 600/s, 80% of
// the three backends' capacity, each in its own goroutine as a server's
// requests do (open loop: a retry adds load rather than delaying the next
// request); calls make up to 3 attempts of at most 100ms each.
//
// The two healthy backends can serve 500/s. Without a budget every failure
// is retried on top, their queues fill, attempts time out in them while
// they serve requests nobody waits for, and the attempts per request grow
// towards the retry factor. With the default budget the attempts stay
// within 1.2 times the requests and the excess fails fast with
// ErrBudgetExhausted. TestSimRetryStorm shows the same at a larger scale.
func TestHTTPRetryStorm(t *testing.T) {
	const (
		slots    = 5
		work     = 20 * time.Millisecond
		rate     = 600 // 0.8 × 3 backends × slots/work
		requests = 1500
	)
	type outcome struct {
		attempts, ok, budgetRefused int64
		healthyArrivals, served     int64
		offered                     float64
	}
	run := func(opts ...retry.Option) outcome {
		b1, b2 := newBackend(slots, 50, work), newBackend(slots, 50, work)
		h1, h2 := httptest.NewServer(b1), httptest.NewServer(b2)
		defer h1.Close()
		defer h2.Close()
		down := httptest.NewServer(http.NotFoundHandler())
		downAddr := hostOf(down)
		down.Close() // its port now refuses connections
		client := testClient(t)
		bal := balancerOver(t, client, false, hostOf(h1), hostOf(h2), downAddr)
		var attempts atomic.Int64
		opts = append(opts, retry.WithMaxAttempts(3), retry.WithTimeout(time.Second),
			retry.WithAttemptTimeout(100*time.Millisecond),
			retry.WithObserver(func(retry.Attempt) { attempts.Add(1) }))
		r := mustNew(t, bal, opts...)
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for i := range requests {
			if d := time.Until(start.Add(time.Duration(i) * time.Second / rate)); d > 0 {
				time.Sleep(d)
			}
			wg.Go(func() {
				_, err := r.Endpoint()(context.Background(), nil)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, retry.ErrBudgetExhausted):
					refused.Add(1)
				}
			})
		}
		offered := float64(requests) / time.Since(start).Seconds()
		wg.Wait()
		h1.Close() // waits for requests nobody waits for any more
		h2.Close()
		return outcome{
			attempts: attempts.Load(), ok: ok.Load(), budgetRefused: refused.Load(),
			healthyArrivals: b1.arrived.Load() + b2.arrived.Load(), served: b1.served.Load() + b2.served.Load(),
			offered: offered,
		}
	}
	report := func(name string, o outcome) float64 {
		f := float64(o.attempts) / requests
		t.Logf("%-15s %d requests at %.0f/s: %5d attempts (%.2f per request), healthy backends got %.2f per request "+
			"and served %d, ok %.1f%%, refused by budget %d",
			name, requests, o.offered, o.attempts, f, float64(o.healthyArrivals)/requests, o.served,
			100*float64(o.ok)/requests, o.budgetRefused)
		return f
	}
	noBudget := run(retry.WithoutBudget())
	without := report("without budget", noBudget)
	with := report("default budget", run())
	if with > 1.2 {
		t.Errorf("with the default budget attempts are %.2f× the requests, want at most 1.2×", with)
	}
	if noBudget.offered < 0.9*rate {
		// The budget's bound above holds at any rate; the storm needs the
		// load, which a starved machine cannot offer.
		t.Skipf("the machine offered only %.0f requests/s of %d: no storm to show", noBudget.offered, rate)
	}
	if without < 1.4 {
		t.Errorf("without a budget attempts are only %.2f× the requests: no storm to contain", without)
	}
}

// TestHTTPHedging: one of three backends answers after 5s; a hedge after
// 20ms on another backend wins, and the slow backend sees its request
// cancelled. Every goroutine ends (Close, then goleak in TestMain).
func TestHTTPHedging(t *testing.T) {
	var slowCancelled, slowStarted atomic.Int64
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowStarted.Add(1)
		select {
		case <-time.After(5 * time.Second):
			io.WriteString(w, "slow")
		case <-r.Context().Done():
			slowCancelled.Add(1)
		}
	}))
	defer slow.Close()
	fast := func() *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "fast") }))
	}
	f1, f2 := fast(), fast()
	defer f1.Close()
	defer f2.Close()
	bal := balancerOver(t, testClient(t), false, hostOf(slow), hostOf(f1), hostOf(f2))
	r, err := retry.New(bal, retry.WithHedging(20*time.Millisecond), retry.WithHedgeCap(1))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		resp, err := r.Endpoint()(context.Background(), nil)
		if err != nil || resp != "fast" {
			t.Fatalf("call %d: %v, %v; the hedge should have answered", i, resp, err)
		}
	}
	r.Close()
	st := r.Stats()
	if st.HedgeWins < 10 {
		// Round robin starts 10 of the 30 calls on the slow backend.
		t.Fatalf("stats %+v: want at least 10 winning hedges", st)
	}
	// The server notices the cancelled request when the connection closes.
	waitFor(t, "the slow backend to see its requests cancelled", func() bool {
		return slowCancelled.Load() == slowStarted.Load()
	})
	t.Logf("30 calls: %d hedged, %d won; slow backend had %d requests, all cancelled", st.Hedges, st.HedgeWins, slowStarted.Load())
}
