package strategy_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// tierFleet is a set over hosts whose priorities and zones are given, on a
// clock the test moves.
type tierFleet struct {
	now   atomic.Int64
	set   *strategy.HostSet[int]
	hosts []*strategy.Host
}

func newTierFleet(t *testing.T, s strategy.Strategy, prio []int, zones []string, opts ...strategy.Option) *tierFleet {
	t.Helper()
	f := &tierFleet{}
	f.now.Store(int64(time.Hour))
	opts = append([]strategy.Option{strategy.WithClock(func() time.Duration { return time.Duration(f.now.Load()) }),
		strategy.WithGroupSource(rand.NewPCG(1, 2))}, opts...)
	set, err := strategy.NewHostSet[int](s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	f.set = set
	for i, p := range prio {
		h := set.NewHost(fmt.Sprintf("h%d:1", i), 1)
		h.SetPriority(p)
		if zones != nil {
			h.SetZone(zones[i])
		}
		f.hosts = append(f.hosts, h)
	}
	set.Update(members(f.hosts), nil)
	return f
}

// fail gives host i a run of failures, making it unhealthy.
func (f *tierFleet) fail(i int) {
	for range 50 {
		strategy.Observe(f.hosts[i], f.now.Load(), time.Millisecond, true, 0)
	}
}

// tick moves the clock past the share refresh.
func (f *tierFleet) tick() { f.now.Add(int64(strategy.DefaultGroupRefresh) + 1) }

// shares picks n times and returns the share of picks per priority.
func (f *tierFleet) shares(t *testing.T, n int) map[int]float64 {
	t.Helper()
	out := map[int]float64{}
	for range n {
		m, err := f.set.Pick(nil)
		if err != nil {
			t.Fatal(err)
		}
		out[f.hosts[m.Value].Priority()] += 1 / float64(n)
	}
	return out
}

func tiers(n0, n1 int) []int {
	p := make([]int, n0+n1)
	for i := n0; i < len(p); i++ {
		p[i] = 10
	}
	return p
}

// Envoy's table of priority loads (overprovisioning 1.4, P=1 healthy):
// tier 0's traffic for each healthy share of its hosts.
func TestTierLoadMatchesEnvoy(t *testing.T) {
	for _, c := range []struct{ healthy, want0 int }{
		{100, 100}, {72, 100}, {71, 99}, {50, 70}, {25, 35}, {0, 0},
	} {
		f := newTierFleet(t, strategy.RoundRobin{}, tiers(100, 10), nil)
		for i := range 100 - c.healthy {
			f.fail(i)
		}
		f.tick()
		g := f.set.Groups()
		if len(g) != 2 || g[0].Priority != 0 || g[1].Priority != 10 {
			t.Fatalf("groups %+v", g)
		}
		if g[0].Healthy != c.healthy || math.Abs(100*g[0].Share-float64(c.want0)) > 0.5 || math.Abs(g[0].Share+g[1].Share-1) > 1e-9 {
			t.Errorf("%d%% healthy: tier 0 has %d healthy and share %.3f, want %d%%", c.healthy, g[0].Healthy, g[0].Share, c.want0)
		}
		got := f.shares(t, 20000)[0]
		if math.Abs(100*got-float64(c.want0)) > 1.5 {
			t.Errorf("%d%% healthy: tier 0 got %.1f%% of picks, want %d%%", c.healthy, 100*got, c.want0)
		}
	}
}

// With tier 0 healthy, no pick of any strategy reaches tier 1; with half
// of tier 0 unhealthy, 30% do.
func TestTierEveryStrategy(t *testing.T) {
	for _, s := range allStrategies() {
		t.Run(s.Name(), func(t *testing.T) {
			f := newTierFleet(t, s, tiers(4, 4), nil)
			if got := f.shares(t, 5000)[10]; got != 0 {
				t.Fatalf("healthy tier 0: tier 1 got %.2f%% of picks, want none", 100*got)
			}
			f.fail(0)
			f.fail(1)
			f.tick()
			if got := f.shares(t, 20000)[10]; math.Abs(got-0.3) > 0.02 {
				t.Fatalf("half of tier 0 failing: tier 1 got %.1f%% of picks, want 30%%", 100*got)
			}
		})
	}
}

// When the healths add up to less than 1 they are scaled up (Envoy's
// normalised total health); when every host is unhealthy tier 0 takes all.
func TestTierDegraded(t *testing.T) {
	f := newTierFleet(t, strategy.Random{}, tiers(4, 4), nil)
	for _, i := range []int{0, 1, 2, 4, 5, 6} {
		f.fail(i)
	}
	f.tick()
	if g := f.set.Groups(); math.Abs(g[0].Share-0.5) > 1e-9 || math.Abs(g[0].Health-0.35) > 1e-9 {
		t.Fatalf("a quarter of each tier healthy: %+v, want 50%% each", g)
	}
	f.fail(3)
	f.fail(7)
	f.tick()
	if g := f.set.Groups(); g[0].Share != 1 || g[1].Share != 0 {
		t.Fatalf("no host healthy: %+v, want all to tier 0", g)
	}
}

// A host that lost all its traffic counts as healthy again after two short
// windows without an observation, so a failed tier is tried again.
func TestTierReadmits(t *testing.T) {
	f := newTierFleet(t, strategy.RoundRobin{}, tiers(2, 2), nil)
	f.fail(0)
	f.fail(1)
	f.tick()
	if g := f.set.Groups(); g[0].Share != 0 || g[0].Healthy != 0 {
		t.Fatalf("tier 0 failed: %+v", g)
	}
	if st := f.set.Stats(); st[0].Healthy || !st[2].Healthy {
		t.Fatalf("stats: %+v", st)
	}
	f.now.Add(int64(2*strategy.DefaultShortWindow) + 1)
	if g := f.set.Groups(); g[0].Share != 1 || g[0].Healthy != 2 {
		t.Fatalf("after two short windows: %+v, want tier 0 back", g)
	}
	// The lapsed hosts are probed: one is the next pick, and its failure
	// renews its verdict at once.
	m, _ := f.set.Pick(nil)
	if m.Value > 1 {
		t.Fatalf("probe went to %s, want a lapsed host of tier 0", f.hosts[m.Value].Address())
	}
	strategy.Observe(f.hosts[m.Value], f.now.Load(), time.Millisecond, true, 0)
	f.tick()
	if g := f.set.Groups(); g[0].Healthy != 1 {
		t.Fatalf("after a failed probe: %+v, want 1 healthy host in tier 0", g)
	}
}

// One priority and no zone: no groups, and the strategy's own picker.
func TestTierSingleGroup(t *testing.T) {
	f := newTierFleet(t, strategy.RoundRobin{}, tiers(5, 0), nil)
	if g := f.set.Groups(); g != nil {
		t.Fatalf("one tier: groups %+v", g)
	}
	seen := map[int]int{}
	for range 10 {
		m, _ := f.set.Pick(nil)
		seen[m.Value]++
	}
	for i := range 5 {
		if seen[i] != 2 {
			t.Fatalf("round robin over one tier: %v", seen)
		}
	}
}

// Zone-aware routing: the local zone keeps all of its tier's traffic while
// its healthy share of hosts is at least its share of all hosts, and
// spills the rest in proportion to the other zones' spare capacity.
func TestZoneAware(t *testing.T) {
	zones := []string{"a", "a", "a", "a", "b", "b", "b", "b", "c", "c", "c", "c"}
	f := newTierFleet(t, strategy.RoundRobin{}, make([]int, 12), zones, strategy.WithLocalZone("a", 0))
	g := f.set.Groups()
	if len(g) != 3 || g[0].Zone != "a" || !g[0].Local || g[0].Share != 1 {
		t.Fatalf("healthy zones: %+v, want all to zone a", g)
	}
	for range 100 {
		if m, _ := f.set.Pick(nil); zones[m.Value] != "a" {
			t.Fatalf("healthy zones: picked %s", f.hosts[m.Value].Address())
		}
	}
	if st := f.set.Stats(); st[5].Zone != "b" {
		t.Fatalf("stats zone %q", st[5].Zone)
	}
	f.fail(0)
	f.fail(1)
	f.tick()
	// Zone a has 2 of 10 healthy hosts (20%) for a third of the clients:
	// it keeps 0.2/(1/3) = 60%, and b and c take 20% each.
	g = f.set.Groups()
	want := []float64{0.6, 0.2, 0.2}
	for i := range want {
		if math.Abs(g[i].Share-want[i]) > 1e-9 {
			t.Fatalf("zone a half failing: %+v, want shares %v", g, want)
		}
	}
	got := map[string]float64{}
	for range 20000 {
		m, _ := f.set.Pick(nil)
		got[zones[m.Value]] += 1.0 / 20000
	}
	if math.Abs(got["a"]-0.6) > 0.02 || math.Abs(got["b"]-0.2) > 0.02 {
		t.Fatalf("zone a half failing: picks %v", got)
	}
}

// Zones split a tier only when it has at least the minimum number of hosts
// and hosts in the local zone; the local zone is read from ZoneEnv when no
// option gives it.
func TestZoneAwareOff(t *testing.T) {
	zones := []string{"a", "a", "b", "b"}
	f := newTierFleet(t, strategy.RoundRobin{}, make([]int, 4), zones, strategy.WithLocalZone("a", 0))
	if g := f.set.Groups(); g != nil {
		t.Fatalf("4 hosts, minimum 6: groups %+v", g)
	}
	f = newTierFleet(t, strategy.RoundRobin{}, make([]int, 4), zones, strategy.WithLocalZone("a", 4))
	if g := f.set.Groups(); len(g) != 2 {
		t.Fatalf("4 hosts, minimum 4: groups %+v", g)
	}
	f = newTierFleet(t, strategy.RoundRobin{}, make([]int, 4), zones, strategy.WithLocalZone("z", 1))
	if g := f.set.Groups(); g != nil {
		t.Fatalf("no host in the local zone: groups %+v", g)
	}
	t.Setenv(strategy.ZoneEnv, "b")
	f = newTierFleet(t, strategy.RoundRobin{}, make([]int, 8), append(zones, zones...))
	if f.set.LocalZone() != "b" {
		t.Fatalf("local zone %q from the environment", f.set.LocalZone())
	}
	if g := f.set.Groups(); len(g) != 2 || g[0].Zone != "b" || g[0].Share != 1 {
		t.Fatalf("zone b from the environment: %+v", g)
	}
}

func TestTierOptionsInvalid(t *testing.T) {
	for name, o := range map[string]strategy.Option{
		"overprovisioning 0.5": strategy.WithOverprovisioning(0.5),
		"overprovisioning NaN": strategy.WithOverprovisioning(math.NaN()),
		"healthy score 0":      strategy.WithHealthyScore(0),
		"healthy score 1.5":    strategy.WithHealthyScore(1.5),
		"zone minimum -1":      strategy.WithLocalZone("a", -1),
		"refresh 0":            strategy.WithGroupRefresh(0),
		"nil source":           strategy.WithGroupSource(nil),
	} {
		if _, err := strategy.NewHostSet[int](strategy.RoundRobin{}, o); !errors.Is(err, strategy.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
}

// A larger overprovisioning factor keeps tier 0 fully loaded longer.
func TestTierOverprovisioning(t *testing.T) {
	f := newTierFleet(t, strategy.RoundRobin{}, tiers(4, 4), nil, strategy.WithOverprovisioning(2))
	f.fail(0)
	f.fail(1)
	f.tick()
	if g := f.set.Groups(); g[0].Share != 1 {
		t.Fatalf("half healthy with factor 2: %+v, want all to tier 0", g)
	}
}

func TestTierPickAllocs(t *testing.T) {
	f := newTierFleet(t, strategy.PeakEWMA{}, tiers(50, 50), nil)
	f.fail(0)
	if n := testing.AllocsPerRun(1000, func() {
		f.now.Add(int64(time.Millisecond))
		if _, err := f.set.Pick(nil); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("grouped pick allocates %v times", n)
	}
}

// Tiers and zones together: the tier's load is split by zone, and a tier
// without hosts in the local zone is one group.
func TestTiersWithZones(t *testing.T) {
	prio := []int{0, 0, 0, 0, 0, 0, 1, 1}
	zones := []string{"a", "a", "a", "b", "b", "b", "b", "b"}
	f := newTierFleet(t, strategy.RoundRobin{}, prio, zones, strategy.WithLocalZone("a", 2))
	f.fail(0)
	f.fail(1)
	f.tick()
	g := f.set.Groups()
	// Tier 0: 4 of 6 healthy, health min(1, 1.4 × 4/6) = 0.933. Zone a
	// has 1 of the 4 healthy (25%) for half the clients: it keeps half
	// of the tier's load, zone b the other half.
	want := []struct {
		prio  int
		zone  string
		share float64
	}{{0, "a", 0.7 / 1.5}, {0, "b", 0.7 / 1.5}, {1, "", 1 - 1.4*4/6}}
	if len(g) != len(want) {
		t.Fatalf("groups %+v", g)
	}
	for i, w := range want {
		if g[i].Priority != w.prio || g[i].Zone != w.zone || math.Abs(g[i].Share-w.share) > 1e-9 {
			t.Fatalf("group %d: %+v, want %+v", i, g[i], w)
		}
	}
}

// A host ejected as an outlier counts as unhealthy for the tiers, even
// when its own record would pass.
func TestTierEjectedHostUnhealthy(t *testing.T) {
	f := newTierFleet(t, strategy.RoundRobin{}, tiers(4, 4), nil,
		strategy.WithOutlierEjection(strategy.OutlierEjection{ConsecutiveFailures: 3, MaxEjectionPercent: 50}))
	h := f.hosts[0]
	for range 200 {
		strategy.Observe(h, f.now.Load(), time.Millisecond, false, 1)
	}
	for range 3 {
		strategy.Observe(h, f.now.Load(), time.Millisecond, true, 0)
	}
	strategy.Observe(h, f.now.Load(), time.Millisecond, false, 1) // streak reset, score high
	f.tick()
	st := f.set.Stats()[0]
	if !st.Ejected || st.Healthy {
		t.Fatalf("host stats %+v, want ejected and unhealthy", st)
	}
	if g := f.set.Groups(); g[0].Healthy != 3 {
		t.Fatalf("groups %+v, want 3 healthy in tier 0", g)
	}
}

// A host whose failures took it out of its tier's health gets no picks in
// its tier while the tier has healthy hosts, with every strategy (the
// strategy alone would still send it some: round-robin a full share).
func TestTierSkipsHostsOutOfHealth(t *testing.T) {
	for _, s := range []strategy.Strategy{strategy.RoundRobin{}, strategy.Random{}, strategy.PeakEWMA{}, strategy.LeastInFlight{}} {
		f := newTierFleet(t, s, tiers(4, 4), nil)
		f.fail(0)
		f.tick()
		picks := map[int]int{}
		for range 4000 {
			m, err := f.set.Pick(nil)
			if err != nil {
				t.Fatal(err)
			}
			picks[m.Value]++
		}
		if picks[0] != 0 {
			t.Errorf("%s: the failing host got %d of 4000 picks, want 0", s.Name(), picks[0])
		}
		// Envoy's share for 3 of 4 healthy: min(1, 0.75×1.4) = 100% to tier 0.
		for i := 1; i < 4; i++ {
			if picks[i] == 0 {
				t.Errorf("%s: healthy tier-0 host %d got no picks: %v", s.Name(), i, picks)
			}
		}
	}
}
