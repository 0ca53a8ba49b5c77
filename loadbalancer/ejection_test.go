package loadbalancer_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/lbmetrics"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// httpBackend is a real HTTP server on 127.0.0.1 that answers 500 while
// failing is set, and counts the calls it serves.
type httpBackend struct {
	srv     *httptest.Server
	failing atomic.Bool
	calls   atomic.Int64
}

func startHTTPBackends(t *testing.T, n int) []*httpBackend {
	t.Helper()
	bs := make([]*httpBackend, n)
	for i := range bs {
		b := &httpBackend{}
		b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			b.calls.Add(1)
			if b.failing.Load() {
				http.Error(w, "down", http.StatusInternalServerError)
				return
			}
			io.WriteString(w, "ok")
		}))
		t.Cleanup(b.srv.Close)
		bs[i] = b
	}
	return bs
}

// httpFactory makes an endpoint that GETs the instance over client and
// fails on any status but 200.
func httpFactory(client *http.Client) loadbalancer.Factory {
	return func(addr string) (endpoint.Endpoint, io.Closer, error) {
		url := "http://" + addr + "/"
		return func(ctx context.Context, _ any) (any, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return nil, err
			}
			resp, err := client.Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				return nil, fmt.Errorf("%s: %s", addr, resp.Status)
			}
			return string(body), nil
		}, nil, nil
	}
}

// TestRoundRobinEjectsAFailingHTTPBackendAndRampsItBack runs a
// round-robin balancer over four real HTTP servers, one of which answers
// 500: after five failures in a row it is ejected and gets no calls; when
// its ejection ends it is back, at first with a small share (slow start).
func TestRoundRobinEjectsAFailingHTTPBackendAndRampsItBack(t *testing.T) {
	bs := startHTTPBackends(t, 4)
	addrs := make([]string, len(bs))
	for i, b := range bs {
		addrs[i] = b.srv.Listener.Addr().String()
	}
	bad := bs[2]
	bad.failing.Store(true)
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	reg := prometheus.NewRegistry()
	pm, err := lbmetrics.NewPrometheus(reg, "lbkit")
	if err != nil {
		t.Fatal(err)
	}
	m := pm.Service("eject").Balancer
	const ejection = time.Second
	bal, err := loadbalancer.New(mustStatic(t, addrs...), httpFactory(&http.Client{Transport: transport, Timeout: 5 * time.Second}),
		loadbalancer.WithStrategy(strategy.RoundRobin{}),
		loadbalancer.WithMetrics(m),
		loadbalancer.WithHostOptions(
			strategy.WithOutlierEjection(strategy.OutlierEjection{BaseEjectionTime: ejection}),
			// A long window, so that the ramp is still low when the
			// test looks, however slow the machine.
			strategy.WithSlowStart(strategy.SlowStart{Window: time.Minute}),
		))
	if err != nil {
		t.Fatal(err)
	}
	defer bal.Close()

	serve := func(n int) (failed int) {
		for range n {
			if _, err := call(t, bal); err != nil {
				failed++
			}
		}
		return failed
	}
	// Round-robin sends it every fourth call: the fifth failure in a row
	// comes by call 20 and ejects it.
	if failed := serve(40); failed != strategy.DefaultConsecutiveFailures {
		t.Fatalf("%d of 40 calls failed, want %d before the ejection", failed, strategy.DefaultConsecutiveFailures)
	}
	if got := bad.calls.Load(); got != strategy.DefaultConsecutiveFailures {
		t.Fatalf("the failing backend served %d calls, want %d", got, strategy.DefaultConsecutiveFailures)
	}
	st := bal.Status()
	var badStats strategy.HostStats
	for _, h := range st.Hosts {
		if h.Address == addrs[2] {
			badStats = h
		}
	}
	if !badStats.Ejected || badStats.EjectionReason != strategy.EjectedConsecutiveFailures || badStats.Ejections != 1 {
		t.Fatalf("failing backend's state: %+v", badStats.HostHealth)
	}
	if st.Health.Ejected != 1 || st.Health.Panic {
		t.Fatalf("status health %+v", st.Health)
	}

	// It recovers; once its ejection is over it is back, ramping.
	bad.failing.Store(false)
	time.Sleep(ejection)
	before := bad.calls.Load()
	if failed := serve(400); failed != 0 {
		t.Fatalf("%d calls failed after the backend recovered", failed)
	}
	got := bad.calls.Load() - before
	// A full share is 100 of 400; its ramp starts at 10% of that.
	if got == 0 || got >= 50 {
		t.Fatalf("recovered backend served %d of 400 calls, want a small share (full share 100)", got)
	}
	st = bal.Status()
	for _, h := range st.Hosts {
		if h.Address == addrs[2] && (h.Ejected || h.Share <= 0 || h.Share >= 1) {
			t.Fatalf("recovered backend's state: %+v", h.HostHealth)
		}
	}
	if st.Health.Ejected != 0 || st.Health.Ramping != 1 || st.Health.Ejections != 1 {
		t.Fatalf("status health %+v", st.Health)
	}
	if err := bal.Close(); err != nil {
		t.Fatal(err)
	}
	ms := gather(t, reg)
	if v := ms["lbkit_balancer_host_ejections_total{host="+addrs[2]+"}{reason=consecutive-failures}{service=eject}"]; v != 1 {
		t.Fatalf("ejections_total for the failing backend = %v, want 1 (%v)", v, ms)
	}
	if v, ok := ms["lbkit_balancer_ejected_hosts{service=eject}"]; !ok || v != 0 {
		t.Fatalf("ejected_hosts = %v (present %v), want 0 after it returned", v, ok)
	}
	if v, ok := ms["lbkit_balancer_ramping_hosts{service=eject}"]; !ok || v != 1 {
		t.Fatalf("ramping_hosts = %v (present %v), want 1: the returned host is ramping", v, ok)
	}
}
