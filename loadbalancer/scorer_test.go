package loadbalancer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/static"
)

func TestLatencyScorer(t *testing.T) {
	s, err := loadbalancer.LatencyScorer(10 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		err     error
		latency time.Duration
		score   float64
		failed  bool
	}{
		{nil, 0, 1, false},
		{nil, 10 * time.Millisecond, 1, false},
		{nil, 20 * time.Millisecond, 0.5, false},
		{nil, 100 * time.Millisecond, 0.1, false},
		{errors.New("boom"), time.Millisecond, 0, true},
		{context.DeadlineExceeded, time.Second, 0, true},
	} {
		score, failed := s(tc.err, tc.latency)
		if score != tc.score || failed != tc.failed {
			t.Errorf("(%v, %v): got %v, %v; want %v, %v", tc.err, tc.latency, score, failed, tc.score, tc.failed)
		}
	}
	for _, target := range []time.Duration{0, -time.Second} {
		if s, err := loadbalancer.LatencyScorer(target); s != nil || !errors.Is(err, loadbalancer.ErrInvalidLatencyTarget) {
			t.Errorf("target %v: got %v, %v; want nil and ErrInvalidLatencyTarget", target, s, err)
		}
	}
}

// flakyFactory makes endpoints that fail when their address is bad, and
// answer with their address otherwise.
func flakyFactory(bad string) func(string) (endpoint.Endpoint, io.Closer, error) {
	return func(addr string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) {
			if addr == bad {
				return nil, fmt.Errorf("%s is down", addr)
			}
			return addr, nil
		}, nil, nil
	}
}

func TestNewPeakEWMAAvoidsAFailingInstance(t *testing.T) {
	p, err := static.NewAddresses("a:80", "b:80", "c:80", "d:80")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	b, err := loadbalancer.NewPeakEWMA(p, flakyFactory("c:80"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got := map[string]int{}
	for i := range 4000 {
		e, err := b.Endpoint()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e(context.Background(), nil)
		if i < 1000 { // warm-up
			continue
		}
		if err != nil {
			got["c:80"]++
		} else {
			got[resp.(string)]++
		}
	}
	if got["c:80"] > 150 {
		t.Fatalf("the failing instance got %d of 3000 calls after warm-up (%v), want under 5%%", got["c:80"], got)
	}
	// (How the healthy three share the rest depends on their measured
	// latencies: with one call at a time, the fastest gets most.)
	if s := b.Status().Strategy; s != "peak-ewma" {
		t.Errorf("status names the strategy %q", s)
	}
}

func TestNewP2C(t *testing.T) {
	p, err := static.NewAddresses("a:80", "b:80")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	b, err := loadbalancer.NewP2C(p, flakyFactory(""))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	seen := map[any]bool{}
	for range 200 {
		e, err := b.Endpoint()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		seen[resp] = true
	}
	if len(seen) != 2 || b.Status().Strategy != "p2c" {
		t.Fatalf("saw %v through %q", seen, b.Status().Strategy)
	}
	if _, err := loadbalancer.NewP2C(nil, flakyFactory("")); err == nil {
		t.Fatal("nil publisher accepted")
	}
}

// A latency-aware scorer lets the bandit strategies tell a slow host from a
// fast one.
func ExampleLatencyScorer() {
	score, err := loadbalancer.LatencyScorer(50 * time.Millisecond)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, lat := range []time.Duration{20 * time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond} {
		s, failed := score(nil, lat)
		fmt.Printf("%v: score %.2f, failed %v\n", lat, s, failed)
	}
	s, failed := score(errors.New("refused"), time.Millisecond)
	fmt.Printf("error: score %.2f, failed %v\n", s, failed)
	// Output:
	// 20ms: score 1.00, failed false
	// 100ms: score 0.50, failed false
	// 500ms: score 0.10, failed false
	// error: score 0.00, failed true
}
