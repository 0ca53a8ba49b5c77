package loadbalancer_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// addrWatcher records the addresses of the hosts it is told.
type addrWatcher struct {
	mu    sync.Mutex
	calls [][]string
	hosts []*strategy.Host
}

func (w *addrWatcher) SetHosts(hosts []*strategy.Host) {
	var a []string
	for _, h := range hosts {
		a = append(a, h.Address())
	}
	w.mu.Lock()
	w.calls = append(w.calls, a)
	w.hosts = hosts
	w.mu.Unlock()
}

func (w *addrWatcher) last() ([]string, []*strategy.Host) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[len(w.calls)-1], w.hosts
}

// The watcher is told the hosts at once and after every change, and they
// are the very hosts the balancer records calls into.
func TestHostWatcherFollowsTheSet(t *testing.T) {
	p, err := static.NewAddresses("127.0.0.1:1", "127.0.0.1:2")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	var w addrWatcher
	factory := func(string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) { return nil, nil }, nil, nil
	}
	b, err := loadbalancer.New(p, factory, loadbalancer.WithHostWatcher(&w))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got, _ := w.last(); !slices.Equal(got, []string{"127.0.0.1:1", "127.0.0.1:2"}) {
		t.Fatalf("hosts at start %v", got)
	}
	if err := p.Replace(publisher.Instance{Address: "127.0.0.1:2"}, publisher.Instance{Address: "127.0.0.1:3"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, hosts := w.last()
		if slices.Equal(got, []string{"127.0.0.1:2", "127.0.0.1:3"}) {
			ep, _ := b.Endpoint()
			ep(context.Background(), nil)
			var total uint64
			for _, h := range hosts {
				total += h.Stats().Requests
			}
			if total != 1 {
				t.Errorf("the watcher's hosts recorded %d calls, want the 1 made", total)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("hosts after Replace: %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWithHostWatcherRejectsNil(t *testing.T) {
	p, _ := static.NewAddresses("127.0.0.1:1")
	defer p.Stop()
	factory := func(string) (endpoint.Endpoint, io.Closer, error) { return nil, nil, nil }
	var typed *addrWatcher
	for _, w := range []loadbalancer.HostWatcher{nil, typed} {
		if b, err := loadbalancer.New(p, factory, loadbalancer.WithHostWatcher(w)); !errors.Is(err, loadbalancer.ErrInvalidArgument) {
			if b != nil {
				b.Close()
			}
			t.Errorf("WithHostWatcher(%#v): %v, want ErrInvalidArgument", w, err)
		}
	}
}
