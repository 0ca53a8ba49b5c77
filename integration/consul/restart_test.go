package consul

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/hashicorp/consul/api"

	"github.com/seed41aebe0c/lbkit/integration/internal/stringsvc"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/consul"
	"github.com/seed41aebe0c/lbkit/retry"
)

// The whole chain a production user builds, every setting at its default:
// consul.Publisher → loadbalancer.New → retry.Retry → go-kit HTTP client
// endpoints (stringsvc.Factory) → go-kit HTTP servers on 127.0.0.1,
// registered by consul.Registrars with nothing but a TTL check.

// chainTTL is the registrars' TTL check. 30s is the case the issue measured
// as worst (the set empty for 7s after a restart without state): the
// registrars' old TTL/3 refresh left the agent without the services for up
// to 10s.
const chainTTL = 30 * time.Second

// chainBackend is one go-kit string service instance on 127.0.0.1.
type chainBackend struct {
	in  stringsvc.Instance
	reg *api.AgentServiceRegistration
}

func newChainBackend(t *testing.T, id string) *chainBackend {
	t.Helper()
	b := &chainBackend{}
	srv := httptest.NewServer(b.in.Handler())
	t.Cleanup(srv.Close)
	b.reg = &api.AgentServiceRegistration{
		ID: id, Name: chainService, Address: "127.0.0.1",
		Port: srv.Listener.Addr().(*net.TCPAddr).Port,
	}
	return b
}

func (b *chainBackend) address() string { return fmt.Sprintf("127.0.0.1:%d", b.reg.Port) }

const chainService = "lbkit-chain"

// chain builds publisher → balancer → retry over the agent, all defaults.
func chain(t *testing.T, a *agent) (*consul.Publisher, *loadbalancer.Balancer, endpoint.Endpoint) {
	t.Helper()
	p, err := consul.NewFromConfig(clientConfig(a), chainService)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	httpClient := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(httpClient.CloseIdleConnections)
	b, err := loadbalancer.New(p, stringsvc.Factory(httpClient))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return p, b, retry.Retry(stringsvc.MaxAttempts, stringsvc.MaxTime, b)
}

// chainTraffic calls the chain from two goroutines, each a bounded number of
// times (and for at most two minutes), and keeps the first errors.
type chainTraffic struct {
	ok, fail atomic.Int64
	mu       sync.Mutex
	errs     []error
	stop     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

func startChainTraffic(ep endpoint.Endpoint) *chainTraffic {
	tr := &chainTraffic{stop: make(chan struct{})}
	deadline := time.Now().Add(2 * time.Minute)
	for range 2 {
		tr.wg.Go(func() {
			for n := 0; n < 30000 && time.Now().Before(deadline); n++ {
				select {
				case <-tr.stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
				resp, err := ep(context.Background(), "abc")
				if err == nil && resp != "ABC" {
					err = fmt.Errorf("answer %v", resp)
				}
				if err != nil {
					tr.fail.Add(1)
					tr.mu.Lock()
					if len(tr.errs) < 5 {
						tr.errs = append(tr.errs, err)
					}
					tr.mu.Unlock()
					continue
				}
				tr.ok.Add(1)
			}
		})
	}
	return tr
}

func (tr *chainTraffic) end() {
	tr.once.Do(func() { close(tr.stop) })
	tr.wg.Wait()
}

// wipe empties the agent's data directory (the agent must be down): the
// agent then comes back knowing no service, as a dev agent, a replaced node
// or a lost disk does.
func (a *agent) wipe() {
	a.t.Helper()
	if err := os.RemoveAll(a.dataDir); err != nil {
		a.t.Fatal(err)
	}
	if err := os.MkdirAll(a.dataDir, 0o700); err != nil {
		a.t.Fatal(err)
	}
}

// TestChainSurvivesAgentRestart is the whole-chain fault injection for
// Consul: under bounded traffic through publisher → balancer → retry →
// go-kit HTTP client, with every setting at its default, the agent is
// killed for a few seconds and restarted with its data directory, then
// again without it. No request may fail: the publisher's recovery grace
// must outlast the registrars' return, and the registrars must come back
// quickly (a short back-off after a failed refresh, a bounded refresh
// period). A registration made after each restart must reach the balancer;
// the time it took is logged. TestMain's goleak checks that nothing leaks.
func TestChainSurvivesAgentRestart(t *testing.T) {
	a := startAgent(t)
	backends := []*chainBackend{newChainBackend(t, "chain-1"), newChainBackend(t, "chain-2"), newChainBackend(t, "chain-3")}
	var regs []*consul.Registrar
	for _, b := range backends {
		regs = append(regs, registered(t, a, b.reg, consul.WithTTLCheck(chainTTL)))
	}
	p, b, ep := chain(t, a)
	eventually(t, settle, "three instances", func() bool {
		return hasHosts(b, backends[0].address(), backends[1].address(), backends[2].address())
	})

	tr := startChainTraffic(ep)
	defer tr.end()
	eventually(t, settle, "traffic flowing", func() bool { return tr.ok.Load() >= 100 })

	// How long the balancer had no hosts at all, sampled every 5ms.
	var emptyFor atomic.Int64
	watchStop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			select {
			case <-watchStop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if len(b.Status().Hosts) == 0 {
				emptyFor.Add(int64(5 * time.Millisecond))
			}
		}
	})
	defer func() { close(watchStop); watch.Wait() }()

	// A short outage right after the registrars' refresh is the hard case:
	// the publisher, whose back-off is still short, is back long before the
	// registrars' next scheduled contact with the agent. A longer one makes
	// that contact fail, so the registrars come back on their retry
	// back-off.
	for round, c := range []struct {
		wipe bool
		down time.Duration
	}{{false, time.Second}, {true, time.Second}, {true, 6 * time.Second}} {
		wipe, down := c.wipe, c.down
		name := map[bool]string{false: "with its data", true: "without its data"}[wipe]
		failedBefore := tr.fail.Load()
		refreshed := regs[0].Stats().TTLUpdates
		eventually(t, chainTTL, "a TTL refresh", func() bool { return regs[0].Stats().TTLUpdates > refreshed })
		a.kill()
		time.Sleep(down)
		if wipe {
			a.wipe()
		}
		restarted := time.Now()
		a.Restart()

		// Every registrar puts its service back by itself; watched beside
		// the new instance below, so that neither figure waits for the other.
		var sawAll time.Duration
		allBack := make(chan struct{})
		go func() {
			defer close(allBack)
			deadline := time.Now().Add(settle)
			for time.Now().Before(deadline) {
				back := knowsAll(a, backends)
				for _, r := range regs {
					back = back && r.Stats().Registered
				}
				if back {
					sawAll = time.Since(restarted)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()

		// A new instance registered right after the restart reaches the
		// balancer: the time it takes is the publisher's way back.
		extra := newChainBackend(t, fmt.Sprintf("chain-new-%d", round))
		registerAt := time.Now()
		rx := registered(t, a, extra.reg, consul.WithTTLCheck(chainTTL))
		eventually(t, settle, "new instance ("+name+")", func() bool {
			for _, h := range b.Status().Hosts {
				if h.Address == extra.address() {
					return true
				}
			}
			return false
		})
		seen, seenAfterRestart := time.Since(registerAt), time.Since(restarted)
		<-allBack
		if sawAll == 0 {
			t.Fatalf("registrars not back within %v (%s)", settle, name)
		}
		eventually(t, settle, "all four instances ("+name+")", func() bool {
			return hasHosts(b, backends[0].address(), backends[1].address(), backends[2].address(), extra.address())
		})

		// Keep the traffic going past the publisher's recovery grace and
		// the registrars' refresh period, where the old defaults failed.
		time.Sleep(consul.DefaultRecoveryGrace + 2*time.Second)
		failed := tr.fail.Load() - failedBefore
		t.Logf("agent killed for %v, restarted %s: a new instance registered at once in the balancer %v after its Register (%v after the restart); "+
			"every old registration back in the agent %v after the restart; balancer empty for %v in all; "+
			"failed requests %d (ok so far %d); publisher %+v",
			down, name, seen.Round(time.Millisecond), seenAfterRestart.Round(time.Millisecond), sawAll.Round(time.Millisecond),
			time.Duration(emptyFor.Load()), failed, tr.ok.Load(), p.Stats())
		if failed != 0 {
			tr.mu.Lock()
			t.Errorf("agent restarted %s: %d failed requests, first errors %v", name, failed, tr.errs)
			tr.mu.Unlock()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := rx.Deregister(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, settle, "new instance gone", func() bool {
			return hasHosts(b, backends[0].address(), backends[1].address(), backends[2].address())
		})
	}
	tr.end()
	if n := tr.fail.Load(); n != 0 || emptyFor.Load() != 0 {
		t.Errorf("%d failed requests of %d; balancer empty for %v", n, n+tr.ok.Load(), time.Duration(emptyFor.Load()))
	}
}

// knowsAll reports whether the agent has every backend's service.
func knowsAll(a *agent, backends []*chainBackend) bool {
	for _, b := range backends {
		if !knowsIDs(a, b.reg.ID) {
			return false
		}
	}
	return true
}

// TestRegistrarsReturnAfterAgentLostState: after the agent comes back
// without its data, every registrar registers its service again by itself,
// whatever its check kind: one with only an HTTP check (which has no TTL to
// refresh and used to stay away for good) and one with a TTL check. While
// the agent is down, neither says it is registered. Default settings
// throughout.
func TestRegistrarsReturnAfterAgentLostState(t *testing.T) {
	a := startAgent(t)
	webHTTP, webTTL := newBackend(t, "web-http"), newBackend(t, "web-ttl")
	rHTTP := registered(t, a, webHTTP.registration(),
		consul.WithHTTPCheck("http://"+webHTTP.address()+"/health", time.Second, time.Second))
	rTTL := registered(t, a, webTTL.registration(), consul.WithTTLCheck(10*time.Second))
	_, b := balancerOver(t, a)
	eventually(t, checkSettle, "both instances", func() bool { return hasHosts(b, webHTTP.address(), webTTL.address()) })

	a.kill()
	eventually(t, consul.DefaultKeepInterval+settle, "registrars notice the agent is gone", func() bool {
		return !rHTTP.Stats().Registered && !rTTL.Stats().Registered
	})
	a.wipe()
	restarted := time.Now()
	a.Restart()
	for _, r := range []*consul.Registrar{rHTTP, rTTL} {
		eventually(t, settle, "registered again", func() bool {
			st := r.Stats()
			return st.Registered && st.Reregistrations >= 1
		})
	}
	back := time.Since(restarted)
	// The agent really has both again, and the HTTP check runs and passes.
	eventually(t, settle, "agent has both", func() bool {
		return knowsIDs(a, "web-http", "web-ttl")
	})
	eventually(t, checkSettle, "both instances after the restart", func() bool {
		return hasHosts(b, webHTTP.address(), webTTL.address())
	})
	t.Logf("both registrars registered again %v after the agent came back without its data; both in the balancer %v after", back.Round(time.Millisecond), time.Since(restarted).Round(time.Millisecond))
}

// knowsIDs reports whether the agent has every one of the services ids.
func knowsIDs(a *agent, ids ...string) bool {
	for _, id := range ids {
		resp, err := a.http1.Get("http://" + a.Addr() + "/v1/agent/service/" + id)
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false
		}
	}
	return true
}
