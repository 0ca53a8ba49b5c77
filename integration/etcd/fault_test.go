package etcd

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/integration/internal/lbtest"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	etcdpub "github.com/seed41aebe0c/lbkit/publisher/etcd"
	"github.com/seed41aebe0c/lbkit/retry"
)

// TestEtcdStoppedUnderTrafficDefaults is the whole chain a production
// user runs, with lbkit's defaults and etcd clients with clientv3's
// defaults: registrars (short 2s lease TTL, each with its own client, as
// separate processes have) → etcd → publisher → balancer → retry → go-kit
// HTTP client → backends on 127.0.0.1. etcd is stopped for longer than the
// TTL and restarted on its data. No call may fail, neither through the
// retry nor on the balancer alone (an empty or shrunk set would show
// there): the registrars must be back before the leases etcd restores run
// out. A backend registered right after the restart must be seen soon;
// the time is logged (integration/README.md).
func TestEtcdStoppedUnderTrafficDefaults(t *testing.T) {
	for _, outage := range []time.Duration{3 * time.Second, 6 * time.Second} {
		t.Run(outage.String(), func(t *testing.T) { testEtcdStopped(t, outage) })
	}
}

func testEtcdStopped(t *testing.T, outage time.Duration) {
	srv := startServer(t, nil)
	var backends []*backend
	var regs []*etcdpub.Registrar
	for _, name := range []string{"a", "b", "c"} {
		b := startBackend(t, name)
		backends = append(backends, b)
		r, err := etcdpub.NewRegistrar(defaultClient(t, srv.endpoint()), prefix+b.addr, publisher.Instance{Address: b.addr}, etcdpub.WithTTL(ttl))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Register(ctx(t)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Stop)
		regs = append(regs, r)
	}
	pub, err := etcdpub.NewPublisher(defaultClient(t, srv.endpoint()), prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	seen := newSightings()
	bal, err := loadbalancer.New(pub, httpFactory(seen.record, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer bal.Close()
	lbtest.WaitHosts(t, bal, backends[0].addr, backends[1].addr, backends[2].addr)

	chain := lbtest.StartChainTraffic(retry.Retry(3, 5*time.Second, bal), 20000)
	direct := lbtest.StartTraffic(bal, 20000)
	time.Sleep(300 * time.Millisecond)

	srv.stop()
	time.Sleep(outage) // longer than the TTL
	srv.start()
	restarted := time.Now()
	// No registered instance may drop out, even for a moment.
	var dropped atomic.Int64
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(2 * time.Millisecond):
			}
			live := map[string]bool{}
			for _, h := range bal.Status().Hosts {
				live[h.Address] = true
			}
			for _, b := range backends {
				if !live[b.addr] {
					dropped.Add(1)
				}
			}
		}
	}()

	// A new instance, registered as soon as etcd answers again.
	d := startBackend(t, "d")
	registerEventually(t, defaultClient(t, srv.endpoint()), publisher.Instance{Address: d.addr})
	at := seen.wait(t, d.addr)
	t.Logf("new instance seen by the balancer %v after etcd restarted", at.Sub(restarted).Round(time.Millisecond))
	lbtest.WaitHosts(t, bal, backends[0].addr, backends[1].addr, backends[2].addr, d.addr)

	// The leases etcd restored run out 2s after the restart: keep calling
	// well past that.
	time.Sleep(time.Until(restarted.Add(3 * ttl)))
	close(stopWatch)
	<-watched
	if n := dropped.Load(); n > 0 {
		t.Errorf("a registered instance was missing from the balancer in %d samples (2ms apart) after the restart", n)
	}
	lbtest.WaitHosts(t, bal, backends[0].addr, backends[1].addr, backends[2].addr, d.addr)
	for i, r := range regs {
		if st := r.Stats(); !st.Registered {
			t.Errorf("registrar %d: stats %+v", i, st)
		}
	}
	chain.End(t)
	direct.End(t)
	t.Logf("%d calls through the chain and %d on the balancer, none failed; publisher stats %+v",
		chain.OK.Load(), direct.OK.Load(), pub.Stats())
}
