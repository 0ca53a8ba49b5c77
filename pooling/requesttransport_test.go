package pooling_test

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/pooling"
)

func newRequestClient(t *testing.T, s *pooling.Service[net.Conn]) (*http.Client, *pooling.RequestTransport) {
	t.Helper()
	rt, err := pooling.NewRequestTransport(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.CloseIdleConnections)
	return &http.Client{Transport: rt}, rt
}

// TestRequestTransportFollowsStrategyPerRequest: 20 sequential requests
// over kept-alive connections alternate between two hosts, as round-robin
// picks them, and each host needed one connection for its 10. (With
// NewHTTPTransport all 20 ride the first connection, to one host.)
func TestRequestTransportFollowsStrategyPerRequest(t *testing.T) {
	a, b := namedServer(t, "a"), namedServer(t, "b")
	s := newService(t, []string{a.Listener.Addr().String(), b.Listener.Addr().String()}, pooling.WithPrespawn(0))
	client, _ := newRequestClient(t, s)

	var got []string
	for range 20 {
		body, err := fetch(client, "http://echo-service/")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, body)
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("responses %v: requests %d and %d went to the same host, want round-robin", got, i-1, i)
		}
	}
	for _, h := range s.Status().Hosts {
		if h.Requests != 10 || h.Failures != 0 || h.InFlight != 0 || h.Pool.Dialled != 1 {
			t.Errorf("host %s: %+v, want 10 requests over 1 connection", h.Address, h)
		}
	}

	// The same 20 requests through NewHTTPTransport stay on one host.
	s2 := newService(t, []string{a.Listener.Addr().String(), b.Listener.Addr().String()}, pooling.WithPrespawn(0))
	tr := pooling.NewHTTPTransport(s2)
	defer tr.CloseIdleConnections()
	seen := map[string]int{}
	for range 20 {
		body, err := fetch(&http.Client{Transport: tr}, "http://echo-service/")
		if err != nil {
			t.Fatal(err)
		}
		seen[body]++
	}
	if len(seen) != 1 {
		t.Errorf("per-connection transport: %v, expected one host for all (the difference shown)", seen)
	}
}

// TestRequestTransportSkipsDeadHost: a host that refuses connections never
// got the request, so another host is tried and the dead one scored down.
func TestRequestTransportSkipsDeadHost(t *testing.T) {
	a := namedServer(t, "a")
	dead := deadAddr(t)
	s := newService(t, []string{a.Listener.Addr().String(), dead},
		pooling.WithPrespawn(0), pooling.WithConnRetries(0, 0))
	client, _ := newRequestClient(t, s)
	for range 6 {
		body, err := fetch(client, "http://echo-service/")
		if err != nil || body != "a" {
			t.Fatalf("fetch = %q, %v", body, err)
		}
	}
	// A POST with a rewindable body is retried on the live host too.
	for range 4 {
		resp, err := client.Post("http://echo-service/", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if h := hostStatus(t, s, dead); h.Failures == 0 || h.Score >= 1 {
		t.Errorf("dead host not scored down: %+v", h)
	}

	// With the live host gone too, the error says so.
	a.Close()
	s.Remove(a.Listener.Addr().String())
	_, err := fetch(client, "http://echo-service/")
	if !errors.Is(err, pooling.ErrNoHosts) {
		t.Errorf("only a dead host left: %v, want ErrNoHosts", err)
	}
}

// TestRequestTransportRemoveAndClose: a removed host gets no more requests
// and its kept-alive connection does not hold up the service's Close.
func TestRequestTransportRemoveAndClose(t *testing.T) {
	a, b := namedServer(t, "a"), namedServer(t, "b")
	s, err := pooling.NewService[net.Conn]("echo", tcpDriver(t), pooling.WithPrespawn(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{a.Listener.Addr().String(), b.Listener.Addr().String()} {
		if err := s.Add(addr); err != nil {
			t.Fatal(err)
		}
	}
	client, _ := newRequestClient(t, s)
	for range 4 {
		if _, err := fetch(client, "http://svc/"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Remove(a.Listener.Addr().String()); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if body, err := fetch(client, "http://svc/"); err != nil || body != "b" {
			t.Fatalf("after Remove(a): %q, %v", body, err)
		}
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Errorf("Close = %v (a kept-alive connection still borrowed?)", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if _, err := fetch(client, "http://svc/"); !errors.Is(err, pooling.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	if _, err := pooling.NewRequestTransport(nil); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("NewRequestTransport(nil) = %v, want ErrInvalidArgument", err)
	}
}
