package retry_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd/lb"
)

// balancerFunc adapts a function to go-kit's lb.Balancer.
type balancerFunc func() (endpoint.Endpoint, error)

func (f balancerFunc) Endpoint() (endpoint.Endpoint, error) { return f() }

// fixed is a go-kit balancer that always returns ep.
func fixed(ep endpoint.Endpoint) lb.Balancer {
	return balancerFunc(func() (endpoint.Endpoint, error) { return ep, nil })
}

// hosts is an in-process balancer over named endpoints that implements
// retry.EndpointAvoider the way lbkit's balancer does: round robin, then
// the first host not tried. It records the order of its picks.
type hosts struct {
	names []string
	eps   map[string]endpoint.Endpoint
	next  atomic.Uint64
	mu    sync.Mutex
	picks []string
}

func newHosts(eps map[string]endpoint.Endpoint) *hosts {
	h := &hosts{eps: eps}
	for name := range eps {
		h.names = append(h.names, name)
	}
	slices.Sort(h.names)
	return h
}

func (h *hosts) EndpointAvoiding(tried []string) (endpoint.Endpoint, string, error) {
	if len(h.names) == 0 {
		return nil, "", lb.ErrNoEndpoints
	}
	i := int(h.next.Add(1)-1) % len(h.names)
	for k := range h.names {
		if j := (i + k) % len(h.names); !slices.Contains(tried, h.names[j]) {
			i = j
			break
		}
	}
	name := h.names[i]
	h.mu.Lock()
	h.picks = append(h.picks, name)
	h.mu.Unlock()
	return h.eps[name], name, nil
}

func (h *hosts) Endpoint() (endpoint.Endpoint, error) {
	ep, _, err := h.EndpointAvoiding(nil)
	return ep, err
}

// waitFor polls cond until it holds or a generous limit passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	limit := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(limit) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// blockUntilDone is an endpoint that returns only when its context ends,
// or after a generous limit so that a broken test cannot hang.
func blockUntilDone(ctx context.Context, _ any) (any, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(10 * time.Second):
		return nil, errTooSlow
	}
}

func ok(resp any) endpoint.Endpoint {
	return func(context.Context, any) (any, error) { return resp, nil }
}

func failing(err error) endpoint.Endpoint {
	return func(context.Context, any) (any, error) { return nil, err }
}
