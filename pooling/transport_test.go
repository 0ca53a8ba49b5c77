package pooling_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/seed41aebe0c/lbkit/pooling"
)

// namedServer answers every request with its name.
func namedServer(t *testing.T, name string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, name)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func fetch(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestHTTPTransportDialsThroughService(t *testing.T) {
	a, b := namedServer(t, "a"), namedServer(t, "b")
	s := newService(t, []string{a.Listener.Addr().String(), b.Listener.Addr().String()}, pooling.WithPrespawn(0))
	tr := pooling.NewHTTPTransport(s)
	tr.DisableKeepAlives = true // a new connection, so a new pick, per request
	client := &http.Client{Transport: tr}

	seen := map[string]int{}
	for range 10 {
		body, err := fetch(client, "http://echo-service/")
		if err != nil {
			t.Fatal(err)
		}
		seen[body]++
	}
	if seen["a"] != 5 || seen["b"] != 5 {
		t.Errorf("responses %v, want 5 from each host", seen)
	}
	eventually(t, "every connection to be released", func() bool {
		for _, h := range s.Status().Hosts {
			if h.InFlight != 0 || h.Pool.Open != 0 {
				return false
			}
		}
		return true
	})
	for _, h := range s.Status().Hosts {
		if h.Requests != 5 || h.Failures != 0 || h.Score != 1 {
			t.Errorf("host %+v", h)
		}
	}
}

func TestHTTPTransportKeepAliveHoldsConnection(t *testing.T) {
	a := namedServer(t, "a")
	s := newService(t, []string{a.Listener.Addr().String()}, pooling.WithPrespawn(0))
	tr := pooling.NewHTTPTransport(s)
	client := &http.Client{Transport: tr}
	for range 5 {
		if _, err := fetch(client, "http://echo-service/"); err != nil {
			t.Fatal(err)
		}
	}
	h := s.Status().Hosts[0]
	if h.InFlight != 1 || h.Pool.Dialled != 1 || h.Pool.InUse != 1 {
		t.Errorf("with keep-alive: %+v, want one connection held by the transport", h)
	}
	tr.CloseIdleConnections()
	eventually(t, "the idle connection to be released", func() bool {
		h := s.Status().Hosts[0]
		return h.InFlight == 0 && h.Pool.Open == 0 && h.Requests == 1 && h.Score == 1
	})
}

func TestHTTPTransportSurvivesDeadHost(t *testing.T) {
	a := namedServer(t, "a")
	s := newService(t, []string{a.Listener.Addr().String(), deadAddr(t)},
		pooling.WithPrespawn(0), pooling.WithConnRetries(0, 0))
	tr := pooling.NewHTTPTransport(s)
	tr.DisableKeepAlives = true
	client := &http.Client{Transport: tr}
	for range 6 {
		body, err := fetch(client, "http://echo-service/")
		if err != nil || body != "a" {
			t.Fatalf("fetch = %q, %v", body, err)
		}
	}
	for _, h := range s.Status().Hosts {
		if h.Address != a.Listener.Addr().String() && (h.Score >= 1 || h.Failures == 0) {
			t.Errorf("dead host not scored down: %+v", h)
		}
	}
}

func TestHTTPTransportScoresResetConnectionDown(t *testing.T) {
	var mu sync.Mutex
	reset := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		r := reset
		mu.Unlock()
		if !r {
			io.WriteString(w, "ok")
			return
		}
		// Abort the connection with a reset, as a crashing host does.
		c, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}))
	defer srv.Close()
	s := newService(t, []string{srv.Listener.Addr().String()}, pooling.WithPrespawn(0))
	tr := pooling.NewHTTPTransport(s)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	if _, err := fetch(client, "http://svc/"); err == nil {
		t.Fatal("fetch over a reset connection succeeded")
	}
	eventually(t, "the reset connection to be scored down", func() bool {
		h := s.Status().Hosts[0]
		return h.Failures >= 1 && h.Score < 1 && h.InFlight == 0
	})
	mu.Lock()
	reset = false
	mu.Unlock()
	if body, err := fetch(client, "http://svc/"); err != nil || body != "ok" {
		t.Fatalf("fetch after recovery = %q, %v", body, err)
	}
}

func TestHTTPTransportNilService(t *testing.T) {
	client := &http.Client{Transport: pooling.NewHTTPTransport(nil)}
	_, err := client.Get("http://svc/")
	if !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Errorf("Get through a nil service = %v, want ErrInvalidArgument", err)
	}
}

func TestHTTPTransportClosedService(t *testing.T) {
	a := namedServer(t, "a")
	s := newService(t, []string{a.Listener.Addr().String()})
	s.Close()
	client := &http.Client{Transport: pooling.NewHTTPTransport(s)}
	_, err := client.Get("http://svc/")
	if !errors.Is(err, pooling.ErrClosed) || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Get through a closed service = %v, want ErrClosed", err)
	}
}
