package etcd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/seed41aebe0c/lbkit/integration/internal/lbtest"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	etcdpub "github.com/seed41aebe0c/lbkit/publisher/etcd"
	"github.com/seed41aebe0c/lbkit/strategy"
)

const prefix = "/services/http/"

// ttl is the registrars' lease TTL: short, so that an outage longer than
// it fits in a test.
const ttl = 2 * time.Second

// pubOpts make the publisher notice an outage within a few hundred
// milliseconds and come back quickly.
var pubOpts = []etcdpub.Option{
	etcdpub.WithHealthInterval(100 * time.Millisecond),
	etcdpub.WithRequestTimeout(time.Second),
	etcdpub.WithBackoff(50*time.Millisecond, 500*time.Millisecond),
}

// errorLog collects the errors a registrar reports.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errorLog) has(target error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, err := range l.errs {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

func register(t *testing.T, cli *clientv3.Client, in publisher.Instance, errs *errorLog) *etcdpub.Registrar {
	t.Helper()
	opts := []etcdpub.RegistrarOption{etcdpub.WithTTL(ttl), etcdpub.WithBackoff(50*time.Millisecond, 500*time.Millisecond)}
	if errs != nil {
		opts = append(opts, etcdpub.WithErrorHandler(errs.add))
	}
	r, err := etcdpub.NewRegistrar(cli, prefix+in.Address, in, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Register(ctx(t)); err != nil {
		t.Fatalf("register %s: %v", in.Address, err)
	}
	t.Cleanup(func() { r.Stop() })
	return r
}

// TestBalancerFollowsEtcd: registered instances receive traffic, a
// deregistered one stops receiving it, traffic goes on while etcd is down
// for longer than the lease TTL, the registrars re-register when it is
// back, and a registration made after the restart reaches the same
// balancer. The publisher reads the prefix again after the outage (the
// server might have come back without its data) and finds the same
// history.
func TestBalancerFollowsEtcd(t *testing.T) {
	srv := startServer(t, nil)
	cli := srv.client(t, nil, "", "")
	a, b, c, d := startBackend(t, "a"), startBackend(t, "b"), startBackend(t, "c"), startBackend(t, "d")
	var errsA errorLog
	regA := register(t, cli, publisher.Instance{Address: a.addr, Weight: 3, Metadata: map[string]string{"zone": "z1"}}, &errsA)
	regB := register(t, cli, publisher.Instance{Address: b.addr}, nil)
	regC := register(t, cli, publisher.Instance{Address: c.addr}, nil)

	pub, err := etcdpub.NewPublisher(cli, prefix, pubOpts...)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	bal, err := loadbalancer.New(pub, httpFactory(nil, nil), loadbalancer.WithStrategy(strategy.RoundRobin{}))
	if err != nil {
		t.Fatal(err)
	}
	defer bal.Close()

	// Registered: all three serve; a's JSON value carried its weight.
	lbtest.WaitHosts(t, bal, a.addr, b.addr, c.addr)
	got := lbtest.CallN(t, bal, 30)
	if got["a"] == 0 || got["b"] == 0 || got["c"] == 0 {
		t.Fatalf("calls per backend %v: every registered instance must serve", got)
	}
	for _, h := range bal.Status().Hosts {
		if h.Address == a.addr && (h.Weight != 3 || h.Metadata["zone"] != "z1") {
			t.Errorf("a: weight %d metadata %v, want 3 and zone z1", h.Weight, h.Metadata)
		}
	}

	// Deregistered: b's key goes, and so does its traffic.
	if err := regB.Deregister(ctx(t)); err != nil {
		t.Fatal(err)
	}
	lbtest.WaitHosts(t, bal, a.addr, c.addr)
	before := b.calls.Load()
	got = lbtest.CallN(t, bal, 30)
	if got["b"] != 0 || b.calls.Load() != before || got["a"] == 0 || got["c"] == 0 {
		t.Fatalf("after deregistering b: calls %v, b served %d more", got, b.calls.Load()-before)
	}

	// etcd goes down while traffic flows, for longer than the lease TTL:
	// the balancer keeps the last known set and every call succeeds.
	leaseA := regA.Stats().Lease
	tr := lbtest.StartTraffic(bal, 50000)
	okBeforeOutage := tr.OK.Load()
	srv.stop()
	lbtest.WaitFor(t, "discovery error reaches the balancer", func() bool { return bal.Status().DiscoveryErr != nil })
	if err := bal.Status().DiscoveryErr; !errors.Is(err, etcdpub.ErrUnavailable) {
		t.Errorf("discovery error %v, want ErrUnavailable", err)
	}
	// The registrar counts a lost lease just before it calls the error
	// handler, so wait for both rather than read one after the other.
	lbtest.WaitFor(t, "registrars see their leases lost and report it", func() bool {
		return regA.Stats().LeasesLost > 0 && regC.Stats().LeasesLost > 0 && errsA.has(etcdpub.ErrLeaseLost)
	})
	lbtest.WaitHosts(t, bal, a.addr, c.addr)
	okDuringOutage := tr.OK.Load() - okBeforeOutage

	// Restarted on the same data and ports: the registrars re-register by
	// themselves, and a new registration reaches the same balancer.
	srv.start()
	regD := registerEventually(t, cli, publisher.Instance{Address: d.addr})
	lbtest.WaitHosts(t, bal, a.addr, c.addr, d.addr)
	lbtest.WaitFor(t, "discovery error cleared", func() bool { return bal.Status().DiscoveryErr == nil })
	lbtest.WaitFor(t, "d serves", func() bool { return d.calls.Load() > 0 })
	for name, r := range map[string]*etcdpub.Registrar{"a": regA, "c": regC} {
		lbtest.WaitFor(t, name+" re-registered", func() bool { return r.Stats().Registrations >= 2 && r.Stats().LastErr == nil })
		// The key is under the new lease, which is alive: the old lease
		// expiring (etcd restores it on restart) does not take it away.
		resp, err := cli.Get(ctx(t), r.Key())
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("%s: get key: %v %v", name, resp, err)
		}
		lease := clientv3.LeaseID(resp.Kvs[0].Lease)
		if lease != r.Stats().Lease {
			t.Errorf("%s: key under lease %x, registrar holds %x", name, lease, r.Stats().Lease)
		}
		ttlResp, err := cli.TimeToLive(ctx(t), lease)
		if err != nil || ttlResp.TTL <= 0 {
			t.Errorf("%s: lease %x not alive: %v %v", name, lease, ttlResp, err)
		}
	}
	if regA.Stats().Lease == leaseA {
		t.Error("a still on its old lease after an outage longer than the TTL")
	}
	tr.End(t)
	t.Logf("%d calls succeeded while etcd was down, %d in all, none failed", okDuringOutage, tr.OK.Load())

	if err := regD.Deregister(ctx(t)); err != nil {
		t.Fatal(err)
	}
	lbtest.WaitHosts(t, bal, a.addr, c.addr)
	if st := pub.Stats(); st.Resets != 0 || st.LastReset != nil {
		// The same data directory is the same history: the reads after
		// the outage (the server may have lost its data) found nothing
		// amiss.
		t.Errorf("publisher stats %+v: a restart on the same data is no reset", st)
	}
}

// registerEventually registers in, retrying while the client reconnects to
// a restarted server.
func registerEventually(t *testing.T, cli *clientv3.Client, in publisher.Instance) *etcdpub.Registrar {
	t.Helper()
	r, err := etcdpub.NewRegistrar(cli, prefix+in.Address, in, etcdpub.WithTTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := r.Register(c)
		cancel()
		if err == nil {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("register %s after restart: %v", in.Address, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRevokedLeaseRegistersAgain: when the lease is revoked under the
// registrar (an operator, or an expiry the client did not see coming), the
// key vanishes, the balancer drops the instance, and the registrar puts it
// back under a new lease.
func TestRevokedLeaseRegistersAgain(t *testing.T) {
	srv := startServer(t, nil)
	cli := srv.client(t, nil, "", "")
	a := startBackend(t, "a")
	var errs errorLog
	reg := register(t, cli, publisher.Instance{Address: a.addr}, &errs)

	pub, err := etcdpub.NewPublisher(cli, prefix, pubOpts...)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	seen, closed := newSightings(), newSightings()
	bal, err := loadbalancer.New(pub, httpFactory(seen.record, closed.record), loadbalancer.WithStrategy(strategy.RoundRobin{}))
	if err != nil {
		t.Fatal(err)
	}
	defer bal.Close()
	lbtest.WaitHosts(t, bal, a.addr)

	first := reg.Stats().Lease
	if _, err := cli.Revoke(ctx(t), first); err != nil {
		t.Fatal(err)
	}
	closed.wait(t, a.addr) // the balancer dropped a's endpoint...
	lbtest.WaitFor(t, "a's endpoint made again", func() bool { return seen.count(a.addr) >= 2 })
	lbtest.WaitHosts(t, bal, a.addr) // ...and has it again
	// The new key can reach the balancer before the registrar has noted
	// its new lease, so wait for the registrar's account rather than read
	// it once.
	lbtest.WaitFor(t, "the registrar's new lease and ErrLeaseLost reported", func() bool {
		st := reg.Stats()
		return st.Lease != first && st.Registrations == 2 && errs.has(etcdpub.ErrLeaseLost)
	})
	if got := lbtest.CallN(t, bal, 5); got["a"] != 5 {
		t.Fatalf("calls %v", got)
	}
}

// TestCompactionWhilePartitioned: the publisher's client loses the cluster
// while keys change and the history is compacted; when the link comes
// back, the publisher reads the prefix afresh (the history it watched is
// partly gone) and carries on watching.
func TestCompactionWhilePartitioned(t *testing.T) {
	srv := startServer(t, nil)
	admin := srv.client(t, nil, "", "")
	px := startProxy(t, srv.clientURL.Host)
	cli := newClient(t, "http://"+px.addr(), nil, "", "")

	put := func(key, value string) int64 {
		t.Helper()
		resp, err := admin.Put(ctx(t), prefix+key, value)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Revision
	}
	put("a", "10.0.0.1:80")
	pub, err := etcdpub.NewPublisher(cli, prefix, append(pubOpts, etcdpub.WithLogger(tlog{t}))...)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	sub := pub.Subscribe()
	waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "10.0.0.1:80" })

	px.setCut(true)
	waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err != nil })
	put("b", "10.0.0.2:80")
	put("a", "not an address") // malformed: a must disappear
	rev := put("c", `{"address":"10.0.0.3:80","weight":2}`)
	if _, err := admin.Compact(ctx(t), rev); err != nil {
		t.Fatal(err)
	}
	px.setCut(false)

	ev := waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err == nil && addrs(ev) == "10.0.0.2:80,10.0.0.3:80" })
	if ev.Instances[1].Weight != 2 {
		t.Errorf("c's weight %d, want 2", ev.Instances[1].Weight)
	}
	st := pub.Stats()
	if st.Gets < 2 || st.Malformed == 0 || st.Resets != 0 {
		// The read after the outage comes before any watch could meet the
		// compaction (the unit tests cover a compacted watch).
		t.Fatalf("stats %+v: want a fresh read, a malformed value and no reset", st)
	}
	// Watching again from the fresh read's revision.
	put("d", "10.0.0.4:80")
	waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "10.0.0.2:80,10.0.0.3:80,10.0.0.4:80" })
	if got := pub.Stats().Gets; got != st.Gets {
		t.Errorf("a change after recovery cost a full read (%d, was %d)", got, st.Gets)
	}
}

// TestPropagationDelay measures how long a registration takes to reach the
// balancer: from the call to Register (lease grant and put) to the
// balancer's factory being asked for the instance, over 100 registrations.
func TestPropagationDelay(t *testing.T) {
	srv := startServer(t, nil)
	cli := srv.client(t, nil, "", "")
	pub, err := etcdpub.NewPublisher(cli, prefix, pubOpts...)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	seen := newSightings()
	bal, err := loadbalancer.New(pub, httpFactory(seen.record, nil), loadbalancer.WithStrategy(strategy.RoundRobin{}))
	if err != nil {
		t.Fatal(err)
	}
	defer bal.Close()

	const changes = 100
	delays := make([]time.Duration, 0, changes)
	for i := range changes {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+i) // never dialled: the factory only builds a client
		r, err := etcdpub.NewRegistrar(cli, prefix+addr, publisher.Instance{Address: addr}, etcdpub.WithTTL(ttl))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := r.Register(ctx(t)); err != nil {
			t.Fatal(err)
		}
		at := seen.wait(t, addr)
		delays = append(delays, at.Sub(start))
		if err := r.Deregister(ctx(t)); err != nil {
			t.Fatal(err)
		}
		r.Stop()
		lbtest.WaitHosts(t, bal)
	}
	p50, p99 := lbtest.Percentile(delays, 50), lbtest.Percentile(delays, 99)
	t.Logf("etcd propagation (Register to balancer) over %d registrations: p50 %v, p99 %v, max %v",
		changes, p50.Round(time.Microsecond), p99.Round(time.Microsecond), delays[len(delays)-1].Round(time.Microsecond))
	if st := pub.Stats(); st.Gets != 1 {
		t.Errorf("publisher read the prefix %d times, want once: changes must come from the watch", st.Gets)
	}
}

// sightings records when something was first reported for each instance,
// and how often.
type sightings struct {
	mu sync.Mutex
	at map[string]time.Time
	n  map[string]int
}

func newSightings() *sightings {
	return &sightings{at: map[string]time.Time{}, n: map[string]int{}}
}

func (s *sightings) record(instance string) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.at[instance]; !ok {
		s.at[instance] = now
	}
	s.n[instance]++
}

func (s *sightings) count(instance string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[instance]
}

func (s *sightings) wait(t *testing.T, instance string) time.Time {
	t.Helper()
	var at time.Time
	lbtest.WaitFor(t, "sighting of "+instance, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		var ok bool
		at, ok = s.at[instance]
		return ok
	})
	return at
}

func waitEvent(t *testing.T, sub *publisher.Subscription, ok func(publisher.Event) bool) publisher.Event {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev, open := <-sub.C():
			if !open {
				t.Fatal("subscription closed while waiting for an event")
			}
			if ok(ev) {
				return ev
			}
		case <-deadline:
			t.Fatal("no matching event within 20s")
		}
	}
}

func addrs(ev publisher.Event) string {
	out := ""
	for i, in := range ev.Instances {
		if i > 0 {
			out += ","
		}
		out += in.Address
	}
	return out
}

type tlog struct{ t *testing.T }

func (l tlog) Log(kv ...any) error { l.t.Log(kv...); return nil }
