package dnssrv

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/seed41aebe0c/lbkit/integration/internal/lbtest"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	dnspub "github.com/seed41aebe0c/lbkit/publisher/dnssrv"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// flaky is an HTTP server on 127.0.0.1 that answers with its name, or with
// a 500 while failing.
type flaky struct {
	name    string
	port    uint16
	failing atomic.Bool
}

func startFlaky(t *testing.T, name string) *flaky {
	t.Helper()
	f := &flaky{name: name}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if f.failing.Load() {
			http.Error(w, "failing", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, f.name)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	f.port = uint16(p)
	return f
}

// phaseResult is a run of sequential calls: how many went to the hosts
// spill names, and how many failed (every call is a first try: no retry).
type phaseResult struct{ calls, spilled, failed int }

func (r phaseResult) spill() float64   { return float64(r.spilled) / float64(r.calls) }
func (r phaseResult) success() float64 { return 1 - float64(r.failed)/float64(r.calls) }

func callPhase(b *loadbalancer.Balancer, n int, spill func(name string) bool) phaseResult {
	r := phaseResult{calls: n}
	for range n {
		name, err := lbtest.Call(b)
		switch {
		case err != nil:
			r.failed++
		case spill(name):
			r.spilled++
		}
	}
	return r
}

// waitCalling calls b until cond holds, at most 3,000,000 times and 30 s:
// a failing host the strategy stops calling after fewer than 5 failures is
// only found unhealthy by its probe, and a recovered host that its tier
// stopped calling only found healthy by its probe, two short windows
// (10 s) after its last call. (A loopback call takes about 10 µs without
// the race detector, so the time bound is the one that binds.)
// It returns the calls it made and how many failed.
func waitCalling(t *testing.T, b *loadbalancer.Balancer, what string, cond func(loadbalancer.Status) bool) phaseResult {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var r phaseResult
	for ; !cond(b.Status()); r.calls++ {
		if r.calls > 3000000 || time.Now().After(deadline) {
			t.Fatalf("%s: not after %d calls; groups %+v; hosts %+v", what, r.calls, b.Status().Groups, b.Status().Hosts)
		}
		if _, err := lbtest.Call(b); err != nil {
			r.failed++
		}
	}
	return r
}

// TestSRVPriorityFailover: an SRV answer with two priorities, four
// backends in each, the balancer on its defaults. With tier 0 healthy no
// call reaches tier 1; with half of tier 0 failing (HTTP 500), the share
// that moves to tier 1 is Envoy's 100% − 50% × 1.4 = 30%, within 5 points;
// when tier 0 recovers, tier 1 is left again.
func TestSRVPriorityFailover(t *testing.T) {
	z := startZone(t, 1)
	var recs []*dns.SRV
	var tier0 []*flaky
	for i := range 4 {
		a, b := startFlaky(t, "a"+strconv.Itoa(i)), startFlaky(t, "b"+strconv.Itoa(i))
		tier0 = append(tier0, a)
		recs = append(recs, srvRecord(service, a.name, a.port, 10, 1), srvRecord(service, b.name, b.port, 20, 1))
	}
	z.set(service, recs...)
	res := z.resolver()
	pub, err := dnspub.New(service, pollInterval, dnspub.WithResolver(res))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	bal, err := loadbalancer.New(pub, httpFactory(res, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer bal.Close()
	lbtest.WaitFor(t, "8 hosts", func() bool { return len(bal.Status().Hosts) == 8 })
	inTier1 := func(name string) bool { return name[0] == 'b' }

	healthy := callPhase(bal, 2000, inTier1)
	if healthy.spilled != 0 || healthy.failed != 0 {
		t.Fatalf("tier 0 healthy: %+v, want no call to tier 1 and none failed", healthy)
	}
	if g := bal.Status().Groups; len(g) != 2 || g[0].Priority != 10 || g[0].Share != 1 || g[1].Priority != 20 {
		t.Fatalf("groups %+v", g)
	}

	tier0[0].failing.Store(true)
	tier0[1].failing.Store(true)
	start := time.Now()
	onset := waitCalling(t, bal, "half of tier 0 unhealthy", func(st loadbalancer.Status) bool { return st.Groups[0].Healthy == 2 })
	detect := time.Since(start)
	// From here tier 0 counts the failing hosts out: they get no first
	// tries in the tier while the healthy half can take them.
	settle := callPhase(bal, 3000, inTier1)
	failing := callPhase(bal, 4000, inTier1)
	t.Logf("half of tier 0 failing: unhealthy after %v and %d calls (%d failed); the next %d calls: %.1f%% to tier 1, first-try success %.2f%%; the %d after: %.1f%% to tier 1 (Envoy: 30%%), first-try success %.2f%%; groups %+v",
		detect.Round(time.Millisecond), onset.calls, onset.failed, settle.calls, 100*settle.spill(), 100*settle.success(),
		failing.calls, 100*failing.spill(), 100*failing.success(), bal.Status().Groups)
	if s := failing.spill(); s < 0.25 || s > 0.35 {
		t.Errorf("half of tier 0 failing: %.1f%% of calls to tier 1, want 30 ± 5", 100*s)
	}
	// Once tier 0 counts them out, the failing hosts get no first tries
	// (their probes are due only two short windows after their last call).
	for _, r := range []struct {
		what string
		phaseResult
	}{{"settling", settle}, {"failing", failing}} {
		if r.success() < 0.999 {
			t.Errorf("half of tier 0 failing, %s: first-try success %.2f%%, want at least 99.9%%", r.what, 100*r.success())
		}
	}

	tier0[0].failing.Store(false)
	tier0[1].failing.Store(false)
	start = time.Now()
	waitCalling(t, bal, "tier 0 healthy again", func(st loadbalancer.Status) bool { return st.Groups[0].Share == 1 })
	t.Logf("tier 0 recovered: all traffic back after %v", time.Since(start).Round(time.Millisecond))
	if back := callPhase(bal, 1000, inTier1); back.spilled != 0 || back.failed != 0 {
		t.Fatalf("tier 0 recovered: %+v, want no call to tier 1 and none failed", back)
	}
}

// TestSRVZoneAware: six backends in three zones named by the SRV targets'
// second label (dnssrv.WithZoneLabel), the client in zone-a. Healthy, every
// call stays in zone-a; with one of zone-a's two failing, zone-a's healthy
// share of hosts (1 of 5) against its share of clients (1/3) keeps 60% of
// the calls there and sends 20% to each other zone.
func TestSRVZoneAware(t *testing.T) {
	z := startZone(t, 1)
	var recs []*dns.SRV
	var local []*flaky
	for _, zn := range []string{"zone-a", "zone-b", "zone-c"} {
		for i := range 2 {
			f := startFlaky(t, zn+"-"+strconv.Itoa(i))
			if zn == "zone-a" {
				local = append(local, f)
			}
			recs = append(recs, srvRecord(service, "h"+strconv.Itoa(i)+"."+zn, f.port, 10, 1))
		}
	}
	z.set(service, recs...)
	res := z.resolver()
	pub, err := dnspub.New(service, pollInterval, dnspub.WithResolver(res), dnspub.WithZoneLabel(2))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	bal, err := loadbalancer.New(pub, httpFactory(res, nil),
		loadbalancer.WithHostOptions(strategy.WithLocalZone("zone-a", 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer bal.Close()
	lbtest.WaitFor(t, "6 hosts", func() bool { return len(bal.Status().Hosts) == 6 })
	away := func(name string) bool { return name[:6] != "zone-a" }

	if r := callPhase(bal, 1000, away); r.spilled != 0 || r.failed != 0 {
		t.Fatalf("zones healthy: %+v, want every call in zone-a", r)
	}
	local[0].failing.Store(true)
	waitCalling(t, bal, "one of zone-a unhealthy", func(st loadbalancer.Status) bool { return st.Groups[0].Healthy == 1 })
	r := callPhase(bal, 3000, away)
	t.Logf("one of zone-a's two failing: %.1f%% of calls left zone-a (Envoy: 40%%), first-try success %.2f%%; groups %+v",
		100*r.spill(), 100*r.success(), bal.Status().Groups)
	if s := r.spill(); s < 0.35 || s > 0.45 {
		t.Errorf("one of zone-a failing: %.1f%% left zone-a, want 40 ± 5", 100*s)
	}
	if r.success() < 0.999 {
		t.Errorf("one of zone-a failing: first-try success %.2f%%, want at least 99.9%%", 100*r.success())
	}
}
