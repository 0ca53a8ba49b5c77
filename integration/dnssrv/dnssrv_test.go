package dnssrv

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	dnspub "github.com/seed41aebe0c/lbkit/publisher/dnssrv"

	"github.com/seed41aebe0c/lbkit/integration/internal/lbtest"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/strategy"
)

const (
	service = "_http._tcp." + domain
	// pollInterval is the publisher's interval in these tests: short, so
	// that the tests are quick, and what bounds the propagation delay.
	pollInterval = 50 * time.Millisecond
)

func addr(host string, b *backend) string {
	return net.JoinHostPort(host+"."+domain[:len(domain)-1], strconv.Itoa(int(b.port)))
}

// TestBalancerFollowsZone: records added to the zone receive traffic, a
// removed one stops receiving it, traffic goes on while the DNS server is
// down, and a change made after its restart reaches the same balancer.
func TestBalancerFollowsZone(t *testing.T) {
	z := startZone(t, 1)
	a, b, c, d := startBackend(t, "a"), startBackend(t, "b"), startBackend(t, "c"), startBackend(t, "d")
	z.set(service,
		srvRecord(service, "a", a.port, 10, 1),
		srvRecord(service, "b", b.port, 10, 1),
		srvRecord(service, "c", c.port, 10, 1),
	)
	res := z.resolver()
	pub, err := dnspub.New(service, pollInterval, dnspub.WithResolver(res), dnspub.WithLookupTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	bal, err := loadbalancer.New(pub, httpFactory(res, nil), loadbalancer.WithStrategy(strategy.RoundRobin{}))
	if err != nil {
		t.Fatal(err)
	}
	defer bal.Close()

	// Registered: all three serve.
	lbtest.WaitHosts(t, bal, addr("a", a), addr("b", b), addr("c", c))
	got := lbtest.CallN(t, bal, 30)
	if got["a"] == 0 || got["b"] == 0 || got["c"] == 0 {
		t.Fatalf("calls per backend %v: every registered instance must serve", got)
	}
	for _, h := range bal.Status().Hosts {
		if h.Priority != 10 || h.Weight != 1 {
			t.Errorf("host %s: priority %d weight %d, want the SRV record's 10 and 1", h.Address, h.Priority, h.Weight)
		}
	}

	// Deregistered: b's record goes, and so does its traffic.
	z.remove(service, dnsName("b"))
	lbtest.WaitHosts(t, bal, addr("a", a), addr("c", c))
	before := b.calls.Load()
	got = lbtest.CallN(t, bal, 30)
	if got["b"] != 0 || b.calls.Load() != before || got["a"] == 0 || got["c"] == 0 {
		t.Fatalf("after removing b: calls %v, b served %d more", got, b.calls.Load()-before)
	}

	// The DNS server goes down while traffic flows: lookups fail, the
	// balancer keeps the last known set and every call succeeds.
	tr := lbtest.StartTraffic(bal, 20000)
	okBeforeOutage := tr.OK.Load()
	z.stop()
	lbtest.WaitFor(t, "discovery error reaches the balancer", func() bool { return bal.Status().DiscoveryErr != nil })
	if err := bal.Status().DiscoveryErr; !errors.Is(err, dnspub.ErrLookup) {
		t.Errorf("discovery error %v, want dnssrv.ErrLookup", err)
	}
	okBefore := tr.OK.Load()
	lbtest.WaitFor(t, "traffic during the outage", func() bool { return tr.OK.Load() >= okBefore+100 })
	lbtest.WaitHosts(t, bal, addr("a", a), addr("c", c))
	okDuringOutage := tr.OK.Load() - okBeforeOutage

	// Restarted on the same port: a change made now reaches the balancer
	// without touching the client.
	z.start()
	z.add(service, srvRecord(service, "d", d.port, 10, 1))
	lbtest.WaitHosts(t, bal, addr("a", a), addr("c", c), addr("d", d))
	lbtest.WaitFor(t, "discovery error cleared", func() bool { return bal.Status().DiscoveryErr == nil })
	lbtest.WaitFor(t, "d serves", func() bool { return d.calls.Load() > 0 })
	tr.End(t)
	t.Logf("%d calls succeeded while the DNS server was down, %d in all, none failed", okDuringOutage, tr.OK.Load())
}

func dnsName(host string) string { return host + "." + domain }

// TestPortZeroAndPartialZones: a record with port 0 is skipped with a
// warning while the rest of the answer is used; IPv6 and priority/weight
// come through a real server and the Go resolver.
func TestPortZeroAndPartialZones(t *testing.T) {
	z := startZone(t, 1)
	a := startBackend(t, "a")
	z.set(service,
		srvRecord(service, "a", a.port, 1, 7),
		srvRecord(service, "zero", 0, 1, 1),
	)
	logs := &logRecorder{}
	pub, err := dnspub.New(service, pollInterval, dnspub.WithResolver(z.resolver()), dnspub.WithLogger(logs))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	sub := pub.Subscribe()
	select {
	case ev := <-sub.C():
		if ev.Err != nil || len(ev.Instances) != 1 || ev.Instances[0].Address != addr("a", a) || ev.Instances[0].Weight != 7 {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no event")
	}
	lbtest.WaitFor(t, "port-0 warning", func() bool { return logs.contains("port 0") })
	if st := pub.Stats(); st.SkippedRecords == 0 {
		t.Fatalf("stats %+v: the port-0 record was not counted", st)
	}
}

// TestManyRecordsOverTCP: an answer too large for UDP is truncated by the
// server and fetched over TCP by both resolvers.
func TestManyRecordsOverTCP(t *testing.T) {
	z := startZone(t, 1)
	for i := range 120 {
		z.add(service, srvRecord(service, fmt.Sprintf("host-%03d", i), uint16(10000+i), 1, 1))
	}
	client, err := dnspub.NewClient(z.addr)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]dnspub.Resolver{"net.Resolver": z.resolver(), "Client": client} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, got, err := r.LookupSRV(ctx, "", "", service)
		cancel()
		if err != nil || len(got) != 120 {
			t.Errorf("%s: %d records, %v", name, len(got), err)
		}
	}
}

// TestPropagationDelay measures how long a record added to the zone takes
// to reach the balancer (its endpoint factory is called for it), over 100
// changes made at random points of the poll cycle, with the fixed-interval
// net.Resolver and with the TTL-driven Client (records' TTL 0, floor 10ms).
func TestPropagationDelay(t *testing.T) {
	z := startZone(t, 0)
	a := startBackend(t, "a")
	z.set(service, srvRecord(service, "a", a.port, 1, 1))
	client, err := dnspub.NewClient(z.addr)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		opts []dnspub.Option
	}{
		{fmt.Sprintf("net.Resolver, interval %v", pollInterval), []dnspub.Option{dnspub.WithResolver(z.resolver())}},
		{"Client, TTL 0, floor 10ms", []dnspub.Option{dnspub.WithResolver(client), dnspub.WithTTL(10 * time.Millisecond)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seen := newSightings()
			pub, err := dnspub.New(service, pollInterval, c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Stop()
			bal, err := loadbalancer.New(pub, httpFactory(z.resolver(), seen.record), loadbalancer.WithStrategy(strategy.RoundRobin{}))
			if err != nil {
				t.Fatal(err)
			}
			defer bal.Close()
			lbtest.WaitHosts(t, bal, addr("a", a))

			const changes = 100
			delays := make([]time.Duration, 0, changes)
			for i := range changes {
				host := fmt.Sprintf("m%02d", i)
				want := addr(host, a)
				// Changes land at a random point of the poll cycle, as
				// real ones do; right after a poll they would all wait
				// a whole interval.
				time.Sleep(rand.N(pollInterval))
				start := time.Now()
				z.add(service, srvRecord(service, host, a.port, 1, 1))
				at := seen.wait(t, want)
				delays = append(delays, at.Sub(start))
				z.remove(service, dnsName(host))
				lbtest.WaitHosts(t, bal, addr("a", a))
			}
			p50, p99 := lbtest.Percentile(delays, 50), lbtest.Percentile(delays, 99)
			t.Logf("DNS SRV propagation (%s) over %d changes: p50 %v, p99 %v, max %v",
				c.name, changes, p50.Round(time.Microsecond), p99.Round(time.Microsecond), delays[len(delays)-1].Round(time.Microsecond))
			if p99 > 2*time.Second {
				t.Errorf("p99 %v: the publisher is not polling as configured", p99)
			}
		})
	}
}

// sightings records when the factory was first asked for each instance.
type sightings struct {
	mu sync.Mutex
	at map[string]time.Time
}

func newSightings() *sightings { return &sightings{at: map[string]time.Time{}} }

func (s *sightings) record(instance string) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.at[instance]; !ok {
		s.at[instance] = now
	}
}

func (s *sightings) wait(t *testing.T, instance string) time.Time {
	t.Helper()
	var at time.Time
	lbtest.WaitFor(t, "factory called for "+instance, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		var ok bool
		at, ok = s.at[instance]
		return ok
	})
	return at
}
