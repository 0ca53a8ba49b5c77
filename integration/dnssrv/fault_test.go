package dnssrv

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/integration/internal/lbtest"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	dnspub "github.com/seed41aebe0c/lbkit/publisher/dnssrv"
	"github.com/seed41aebe0c/lbkit/retry"
)

// TestBrokenDNSUnderTrafficDefaults is the whole chain with lbkit's
// defaults (the publisher's only settings are the resolver that names the
// server and the poll interval, which New requires): SRV lookups →
// publisher → balancer → retry → go-kit HTTP client → backends on
// 127.0.0.1. The DNS server answers SERVFAIL for 3s, then nothing at all
// for 3s. No call may fail, no instance may leave the balancer, the
// failure must show in the balancer's status, and a record added once the
// server is healthy again must be seen soon; the time is logged
// (integration/README.md).
func TestBrokenDNSUnderTrafficDefaults(t *testing.T) {
	const interval = 500 * time.Millisecond
	z := startZone(t, 1)
	a, b, c, d := startBackend(t, "a"), startBackend(t, "b"), startBackend(t, "c"), startBackend(t, "d")
	// d serves under one new name per fault.
	z.set(service,
		srvRecord(service, "a", a.port, 10, 1),
		srvRecord(service, "b", b.port, 10, 1),
		srvRecord(service, "c", c.port, 10, 1),
	)
	res := z.resolver()
	pub, err := dnspub.New(service, interval, dnspub.WithResolver(res))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	seen := newSightings()
	bal, err := loadbalancer.New(pub, httpFactory(res, seen.record))
	if err != nil {
		t.Fatal(err)
	}
	defer bal.Close()
	want := []string{addr("a", a), addr("b", b), addr("c", c)}
	lbtest.WaitHosts(t, bal, want...)

	chain := lbtest.StartChainTraffic(retry.Retry(3, 5*time.Second, bal), 20000)
	direct := lbtest.StartTraffic(bal, 20000)
	var missing atomic.Int64
	stopWatch, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(2 * time.Millisecond):
			}
			if n := len(bal.Status().Hosts); n < len(want) {
				missing.Add(1)
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)

	for _, f := range []struct {
		name, host string
		fault      fault
	}{{"SERVFAIL", "servfail", servfail}, {"no answer", "silent", silent}} {
		z.setFault(f.fault)
		lbtest.WaitFor(t, f.name+" reaches the balancer's status", func() bool {
			return errors.Is(bal.Status().DiscoveryErr, dnspub.ErrLookup)
		})
		time.Sleep(3 * time.Second)
		// A record added while the server misbehaves: seen once it is
		// healthy again.
		z.add(service, srvRecord(service, f.host, d.port, 10, 1))
		z.setFault(healthy)
		healed := time.Now()
		at := seen.wait(t, addr(f.host, d))
		t.Logf("after %s: new instance seen by the balancer %v after the DNS server answered again (poll interval %v, lookup timeout %v)",
			f.name, at.Sub(healed).Round(time.Millisecond), interval, dnspub.DefaultLookupTimeout)
		lbtest.WaitFor(t, "discovery error cleared after "+f.name, func() bool { return bal.Status().DiscoveryErr == nil })
		z.remove(service, dnsName(f.host))
		lbtest.WaitHosts(t, bal, want...)
	}

	close(stopWatch)
	<-watched
	if n := missing.Load(); n > 0 {
		t.Errorf("an instance was missing from the balancer in %d samples (2ms apart)", n)
	}
	chain.End(t)
	direct.End(t)
	t.Logf("%d calls through the chain and %d on the balancer, none failed; publisher stats %+v",
		chain.OK.Load(), direct.OK.Load(), pub.Stats())
}
