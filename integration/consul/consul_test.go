package consul

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/seed41aebe0c/lbkit/integration/internal/lbtest"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/consul"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// Generous bounds for a loaded 2-core machine; the happy path takes
// milliseconds (see README.md).
const (
	// settle bounds how long a registration or deregistration may take
	// to reach the balancer.
	settle = 20 * time.Second
	// checkSettle bounds how long Consul takes to run an HTTP check
	// (1s interval here) and the change to reach the balancer.
	checkSettle = 30 * time.Second
)

func clientConfig(a *agent) *api.Config {
	// Not api.DefaultConfig: the CONSUL_HTTP_* variables of the machine
	// running the tests must have no say here.
	return &api.Config{Address: a.Addr(), Scheme: "http"}
}

// registered returns a registered Registrar that is closed when the test
// ends (before the agent is killed: cleanups run last-in first-out).
func registered(t *testing.T, a *agent, reg *api.AgentServiceRegistration, opts ...consul.RegistrarOption) *consul.Registrar {
	t.Helper()
	opts = append([]consul.RegistrarOption{consul.WithStopTimeout(5 * time.Second)}, opts...)
	r, err := consul.NewRegistrarFromConfig(clientConfig(a), reg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Register(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer r.Stop()
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		if err := r.Deregister(dctx); err != nil {
			t.Errorf("registrar %s: Deregister: %v", reg.ID, err)
		}
	})
	return r
}

// balancerOver returns a publisher of the test service and a round-robin
// balancer over it making real HTTP calls; both end with the test.
func balancerOver(t *testing.T, a *agent, opts ...consul.Option) (*consul.Publisher, *loadbalancer.Balancer) {
	t.Helper()
	p, err := consul.NewFromConfig(clientConfig(a), serviceName, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	b, err := loadbalancer.New(p, newHTTPFactory(t).factory, loadbalancer.WithStrategy(strategy.RoundRobin{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return p, b
}

// TestBalancerFollowsRegistrationsAndHealth: registered instances get real
// traffic; one that deregisters and one that fails its HTTP check stop
// getting it; tags and the filter expression are applied by the server;
// weights arrive.
func TestBalancerFollowsRegistrationsAndHealth(t *testing.T) {
	a := startAgent(t)
	web1, web2, web3 := newBackend(t, "web-1"), newBackend(t, "web-2"), newBackend(t, "web-3")
	ttl := []consul.RegistrarOption{consul.WithTTLCheck(10 * time.Second)}

	r1 := registered(t, a, web1.registration(), ttl...)
	registered(t, a, web2.registration(),
		consul.WithHTTPCheck("http://"+web2.address()+"/health", time.Second, time.Second))
	reg3 := web3.registration()
	reg3.Weights = &api.AgentWeights{Passing: 7, Warning: 1}
	reg3.Meta = map[string]string{"version": "2"}
	registered(t, a, reg3, ttl...)

	_, b := balancerOver(t, a, consul.WithTags("lbkit", "http"))
	// web-2 joins once the agent has run its HTTP check for the first time.
	eventually(t, checkSettle, "three instances in the balancer", func() bool {
		return hasHosts(b, web1.address(), web2.address(), web3.address())
	})
	for _, h := range b.Status().Hosts {
		if h.Address == web3.address() && (h.Weight != 7 || h.Metadata["version"] != "2" || h.Metadata[consul.MetaServiceID] != "web-3") {
			t.Fatalf("web-3 as balanced: %+v", h)
		}
	}
	if seen := answering(b, 30); seen["web-1"] != 10 || seen["web-2"] != 10 || seen["web-3"] != 10 {
		t.Fatalf("30 round-robin calls went %v, want 10 to each", seen)
	}

	// Deregistration takes web-1 out of rotation.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r1.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, settle, "web-1 gone", func() bool { return hasHosts(b, web2.address(), web3.address()) })
	before := web1.hits.Load()
	if seen := answering(b, 20); seen["web-1"] != 0 || seen["error"] != 0 || seen["web-2"] != 10 {
		t.Fatalf("after deregistering web-1, calls went %v", seen)
	}
	if web1.hits.Load() != before {
		t.Fatal("web-1 still received traffic after deregistering")
	}

	// A failing HTTP check takes web-2 out of rotation, and back when it
	// passes again.
	web2.healthy.Store(false)
	eventually(t, checkSettle, "web-2 out after failing its check", func() bool { return hasHosts(b, web3.address()) })
	before = web2.hits.Load()
	if seen := answering(b, 10); seen["web-3"] != 10 {
		t.Fatalf("with web-2 unhealthy, calls went %v", seen)
	}
	if web2.hits.Load() != before {
		t.Fatal("web-2 received traffic while failing its health check")
	}
	web2.healthy.Store(true)
	eventually(t, checkSettle, "web-2 back after passing again", func() bool {
		return hasHosts(b, web2.address(), web3.address())
	})

	// Filtering happens on the server: an instance without the "http" tag
	// registered before one with it never shows up.
	web4, web5 := newBackend(t, "web-4"), newBackend(t, "web-5")
	reg4 := web4.registration()
	reg4.Tags = []string{"lbkit"}
	registered(t, a, reg4, ttl...)
	registered(t, a, web5.registration(), ttl...)
	eventually(t, settle, "web-5 in", func() bool {
		return hasHosts(b, web2.address(), web3.address(), web5.address())
	})

	// A filter expression, also evaluated by Consul.
	_, v2 := balancerOver(t, a, consul.WithFilter(`Service.Meta.version == "2"`))
	eventually(t, settle, "filtered balancer", func() bool { return hasHosts(v2, web3.address()) })
	if seen := answering(v2, 5); seen["web-3"] != 5 {
		t.Fatalf("filtered balancer calls went %v", seen)
	}
}

// traffic calls the balancer from one goroutine, a bounded number of times,
// and counts successes and failures per phase.
type traffic struct {
	b     *loadbalancer.Balancer
	phase atomic.Int32
	ok    [4]atomic.Int64
	fail  [4]atomic.Int64
	mu    sync.Mutex
	errs  []error
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

const (
	phaseBefore = iota
	phaseOutage
	phaseRestarted
)

func startTraffic(b *loadbalancer.Balancer) *traffic {
	tr := &traffic{b: b, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(tr.done)
		deadline := time.Now().Add(2 * time.Minute)
		for n := 0; n < 100000 && time.Now().Before(deadline); n++ {
			select {
			case <-tr.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			ph := tr.phase.Load()
			if _, err := lbtest.Call(b); err != nil {
				tr.fail[ph].Add(1)
				tr.mu.Lock()
				if len(tr.errs) < 5 {
					tr.errs = append(tr.errs, err)
				}
				tr.mu.Unlock()
				continue
			}
			tr.ok[ph].Add(1)
		}
	}()
	return tr
}

// end stops the traffic and waits for its goroutine; it is idempotent.
func (tr *traffic) end() {
	tr.once.Do(func() { close(tr.stop) })
	<-tr.done
}

// TestAgentRestart: the agent dies while requests flow; they keep
// succeeding on the last known instances; the agent comes back on the same
// ports and changes made afterwards reach the same balancer. Publisher and
// registrars run on their defaults (a 200ms refresh here once hid that the
// defaults lost requests across a restart).
func TestAgentRestart(t *testing.T) {
	a := startAgent(t)
	web1, web2 := newBackend(t, "web-1"), newBackend(t, "web-2")
	var regErrs atomic.Int64
	onErr := consul.WithErrorHandler(func(error) { regErrs.Add(1) })
	ttl := []consul.RegistrarOption{consul.WithTTLCheck(10 * time.Second), onErr}
	r1 := registered(t, a, web1.registration(), ttl...)
	registered(t, a, web2.registration(), ttl...)

	p, b := balancerOver(t, a)
	eventually(t, settle, "two instances", func() bool { return hasHosts(b, web1.address(), web2.address()) })

	tr := startTraffic(b)
	defer tr.end()
	eventually(t, settle, "traffic flowing", func() bool { return tr.ok[phaseBefore].Load() >= 50 })

	tr.phase.Store(phaseOutage)
	a.kill()
	eventually(t, settle, "publisher sees the outage", func() bool { return p.Stats().ConsecutiveFailures >= 3 })
	eventually(t, settle, "balancer reports the discovery error", func() bool { return b.Status().DiscoveryErr != nil })
	if err := b.Status().DiscoveryErr; !errors.Is(err, consul.ErrQuery) {
		t.Fatalf("discovery error %v, want consul.ErrQuery", err)
	}
	eventually(t, settle, "the registrar reports the outage", func() bool { return regErrs.Load() >= 1 })
	eventually(t, settle, "traffic during the outage", func() bool { return tr.ok[phaseOutage].Load() >= 200 })
	if !hasHosts(b, web1.address(), web2.address()) {
		t.Fatalf("balancer lost the last known set during the outage: %+v", b.Status().Hosts)
	}

	tr.phase.Store(phaseRestarted)
	a.Restart()
	eventually(t, settle, "publisher recovered", func() bool {
		st := p.Stats()
		return st.ConsecutiveFailures == 0 && st.LastError == nil
	})

	// Changes after the restart reach the balancer built before it.
	web3 := newBackend(t, "web-3")
	registered(t, a, web3.registration(), ttl...)
	eventually(t, settle, "web-3 after restart", func() bool {
		return hasHosts(b, web1.address(), web2.address(), web3.address())
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r1.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, settle, "web-1 gone after restart", func() bool { return hasHosts(b, web2.address(), web3.address()) })
	if b.Status().DiscoveryErr != nil {
		t.Fatalf("discovery error after recovery: %v", b.Status().DiscoveryErr)
	}
	tr.end() // the round-robin count below needs the balancer to itself
	before := web1.hits.Load()
	if seen := answering(b, 20); seen["web-1"] != 0 || seen["web-2"] != 10 || seen["web-3"] != 10 {
		t.Fatalf("after restart and changes, calls went %v", seen)
	}
	if web1.hits.Load() != before {
		t.Fatal("web-1 received traffic after deregistering")
	}

	tr.mu.Lock()
	errs := tr.errs
	tr.mu.Unlock()
	t.Logf("requests ok/failed: before %d/%d, agent down %d/%d, after restart %d/%d; registrar errors reported: %d; publisher %+v",
		tr.ok[phaseBefore].Load(), tr.fail[phaseBefore].Load(), tr.ok[phaseOutage].Load(), tr.fail[phaseOutage].Load(),
		tr.ok[phaseRestarted].Load(), tr.fail[phaseRestarted].Load(), regErrs.Load(), p.Stats())
	for ph := range 3 {
		if n := tr.fail[ph].Load(); n != 0 {
			t.Errorf("phase %d: %d failed requests (first errors %v)", ph, n, errs)
		}
	}
}
