// Package lbtest holds what the integration tests of every discovery
// backend share: calling a balancer, waiting for its live set, and a bounded
// background traffic loop that must see no failed call.
package lbtest

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
)

// CloserFunc adapts a function to io.Closer.
type CloserFunc func()

func (f CloserFunc) Close() error { f(); return nil }

// Call makes one call through the balancer.
func Call(b *loadbalancer.Balancer) (string, error) {
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

// CallN makes n sequential calls and returns how many each backend name
// answered; any failure fails the test.
func CallN(t *testing.T, b *loadbalancer.Balancer, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		name, err := Call(b)
		if err != nil {
			t.Fatalf("call: %v", err)
		}
		got[name]++
	}
	return got
}

// WaitHosts waits until the balancer's live set is exactly want.
func WaitHosts(t *testing.T, b *loadbalancer.Balancer, want ...string) {
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

// WaitFor polls cond until it holds, failing after a generous deadline.
func WaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Traffic calls the balancer in a loop, bounded in count, until stopped.
type Traffic struct {
	stop     chan struct{}
	done     chan struct{}
	OK, Fail atomic.Int64
	mu       sync.Mutex
	errs     []error
}

// StartTraffic calls b every 2ms, at most max times, until End.
func StartTraffic(b *loadbalancer.Balancer, max int) *Traffic {
	return startCalls(func() error { _, err := Call(b); return err }, max)
}

// StartChainTraffic calls a whole client chain (a retrying endpoint over a
// balancer) every 2ms, each call bounded by 10s, at most max times, until
// End.
func StartChainTraffic(ep endpoint.Endpoint, max int) *Traffic {
	return startCalls(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := ep(ctx, nil)
		return err
	}, max)
}

func startCalls(call func() error, max int) *Traffic {
	tr := &Traffic{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(tr.done)
		for range max {
			select {
			case <-tr.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			if err := call(); err != nil {
				tr.Fail.Add(1)
				tr.mu.Lock()
				if len(tr.errs) < 5 {
					tr.errs = append(tr.errs, err)
				}
				tr.mu.Unlock()
				continue
			}
			tr.OK.Add(1)
		}
	}()
	return tr
}

// End stops the loop and fails the test if any call failed.
func (tr *Traffic) End(t *testing.T) {
	t.Helper()
	close(tr.stop)
	<-tr.done
	if n := tr.Fail.Load(); n > 0 {
		t.Fatalf("%d of %d calls failed, first errors: %v", n, n+tr.OK.Load(), tr.errs)
	}
}

// Percentile returns the p-th Percentile (nearest rank) of ds, sorted in
// place.
func Percentile(ds []time.Duration, p float64) time.Duration {
	slices.Sort(ds)
	rank := int(p/100*float64(len(ds))+0.999999) - 1
	return ds[max(0, min(rank, len(ds)-1))]
}
