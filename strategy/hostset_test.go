package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// newSet returns a set picking with s over hs, each member's value its
// index in hs.
func newSet(tb testing.TB, s strategy.Strategy, hs []*strategy.Host, opts ...strategy.Option) *strategy.HostSet[int] {
	tb.Helper()
	set, err := strategy.NewHostSet[int](s, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	set.Update(members(hs), nil)
	return set
}

func members(hs []*strategy.Host) []strategy.Member[int] {
	ms := make([]strategy.Member[int], len(hs))
	for i, h := range hs {
		ms[i] = strategy.Member[int]{Host: h, Value: i}
	}
	return ms
}

func addresses(hs []*strategy.Host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Address()
	}
	return out
}

// allStrategies are every strategy of the package, seeded where they can
// be, and a user's own.
func allStrategies() []strategy.Strategy {
	return append(append(slices.Clone(simple), learners()...),
		strategy.LeastInFlight{Rand: seeded(30)}, strategy.LeastInFlight{Choices: 3}, first{})
}

func TestHostSetEmpty(t *testing.T) {
	set, err := strategy.NewHostSet[string](strategy.PeakEWMA{})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := set.Pick(nil); !errors.Is(err, strategy.ErrNoHosts) || m.Host != nil || m.Value != "" {
		t.Fatalf("new set: picked %+v, %v; want the zero member and ErrNoHosts", m, err)
	}
	if len(set.Members()) != 0 || len(set.Stats()) != 0 {
		t.Fatalf("new set: %d members, %d stats", len(set.Members()), len(set.Stats()))
	}
	// The caller's error for an empty set: the balancer's discovery error.
	errDiscovery := errors.New("discovery down")
	set.Update([]strategy.Member[string]{{Host: set.NewHost("a:1", 1), Value: "a"}}, errDiscovery)
	if m, err := set.Pick(nil); err != nil || m.Value != "a" {
		t.Fatalf("one member: %+v, %v", m, err)
	}
	set.Update(nil, errDiscovery)
	if _, err := set.Pick([]string{"a:1"}); err != errDiscovery {
		t.Fatalf("emptied with a none error: %v, want %v", err, errDiscovery)
	}
	set.Update([]strategy.Member[string]{}, nil)
	if _, err := set.Pick(nil); !errors.Is(err, strategy.ErrNoHosts) {
		t.Fatalf("emptied without a none error: %v, want ErrNoHosts", err)
	}
}

func TestHostSetUpdateAndPick(t *testing.T) {
	set, err := strategy.NewHostSet[string](strategy.RoundRobin{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := set.Strategy().(strategy.RoundRobin); !ok {
		t.Fatalf("Strategy() = %T", set.Strategy())
	}
	mk := func(addrs ...string) []strategy.Member[string] {
		ms := make([]strategy.Member[string], len(addrs))
		for i, a := range addrs {
			ms[i] = strategy.Member[string]{Host: set.NewHost(a, 1), Value: "endpoint " + a}
		}
		return ms
	}
	set.Update(mk("a:1", "b:1", "c:1"), nil)
	got := map[string]int{}
	for range 300 {
		m, err := set.Pick(nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.Value != "endpoint "+m.Host.Address() {
			t.Fatalf("member %q carries %q", m.Host.Address(), m.Value)
		}
		got[m.Value]++
	}
	if len(got) != 3 || got["endpoint a:1"] != 100 {
		t.Fatalf("round robin over three: %v", got)
	}
	var order []string
	for _, st := range set.Stats() {
		order = append(order, st.Address)
	}
	if fmt.Sprint(order) != "[a:1 b:1 c:1]" || len(set.Members()) != 3 || set.Members()[2].Value != "endpoint c:1" {
		t.Fatalf("members out of order: stats %v, members %v", order, set.Members())
	}
	// A new set replaces the old one entirely.
	set.Update(mk("d:1", "e:1"), nil)
	for range 100 {
		if m, _ := set.Pick(nil); m.Value != "endpoint d:1" && m.Value != "endpoint e:1" {
			t.Fatalf("picked %q after it left", m.Value)
		}
	}
}

func TestHostSetRecordsThroughItsHosts(t *testing.T) {
	clk := &fakeClock{now: 1}
	lat, err := strategy.LatencyScorer(time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	set, err := strategy.NewHostSet[int](strategy.PeakEWMA{}, clk.option(), strategy.WithScorer(lat), strategy.WithShortWindow(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	set.Update([]strategy.Member[int]{{Host: set.NewHost("a:1", 2), Value: 7}}, nil)
	m, err := set.Pick(nil)
	if err != nil || m.Value != 7 {
		t.Fatalf("%+v, %v", m, err)
	}
	start := m.Host.Begin()
	if st := set.Stats()[0]; st.InFlight != 1 || st.Weight != 2 {
		t.Fatalf("during the call: %+v", st)
	}
	clk.advance(4 * time.Millisecond)
	m.Host.Record(context.Background(), start, nil)
	// The set's hosts read its clock and score with its scorer.
	if st := set.Stats()[0]; st.InFlight != 0 || st.Latency != 4*time.Millisecond || st.Score != 0.25 || st.PeakLatency != 4*time.Millisecond {
		t.Fatalf("after the call: %+v", st)
	}
}

func TestHostSetPickAvoidsTried(t *testing.T) {
	for _, s := range allStrategies() {
		t.Run(s.Name(), func(t *testing.T) {
			hs := lrnHosts(t, 5, &fakeClock{now: 1})
			set := newSet(t, s, hs)
			addrs := addresses(hs)
			// Every host but one tried: that one, every time.
			for skip := range hs {
				tried := slices.Delete(slices.Clone(addrs), skip, skip+1)
				for range 50 {
					m, err := set.Pick(tried)
					if err != nil || m.Value != skip {
						t.Fatalf("tried all but %d: picked %d, %v", skip, m.Value, err)
					}
				}
			}
			// One tried, even the one the strategy keeps choosing: never it.
			for range 2000 {
				if m, err := set.Pick(addrs[:1]); err != nil || m.Value == 0 {
					t.Fatalf("tried %s: picked %d, %v", addrs[0], m.Value, err)
				}
			}
			// All tried: a tried one rather than none.
			for range 50 {
				if m, err := set.Pick(addrs); err != nil || m.Host == nil || m.Value < 0 || m.Value >= len(hs) {
					t.Fatalf("all tried: %+v, %v; want one of them", m, err)
				}
			}
			// Addresses not in the set change nothing.
			if m, err := set.Pick([]string{"elsewhere:1", "elsewhere:2"}); err != nil || m.Host == nil {
				t.Fatalf("tried hosts not in the set: %+v, %v", m, err)
			}
		})
	}
}

// TestHostSetAvoidanceSpreads: when the strategy insists on a tried host,
// the others share the retries rather than the first of them taking all.
func TestHostSetAvoidanceSpreads(t *testing.T) {
	hs := hosts(t, 1, 1, 1, 1, 1)
	set := newSet(t, first{}, hs)
	got := make([]int, len(hs))
	for range 4000 {
		m, err := set.Pick([]string{hs[0].Address()})
		if err != nil {
			t.Fatal(err)
		}
		got[m.Value]++
	}
	for i, n := range got[1:] {
		if n < 700 {
			t.Fatalf("host %d got %d of 4000 retries (%v); want about a quarter each", i+1, n, got)
		}
	}
}

func TestHostSetUpdateRebuildsWeights(t *testing.T) {
	hs := hosts(t, 1, 1)
	set := newSet(t, strategy.RoundRobin{Weighted: true}, hs)
	pick := func() []int {
		c := make([]int, 2)
		for range 400 {
			m, _ := set.Pick(nil)
			c[m.Value]++
		}
		return c
	}
	hs[0].SetWeight(3)
	if c := pick(); c[0] != 200 {
		t.Fatalf("a weight change took effect before the next Update: %v", c)
	}
	set.Update(members(hs), nil)
	if c := pick(); c[0] != 300 {
		t.Fatalf("after Update: %v, want [300 100]", c)
	}
}

func TestHostSetPickDoesNotAllocate(t *testing.T) {
	for _, n := range []int{10, 1000} {
		hs := benchHosts(t, n)
		addrs := addresses(hs)
		for _, s := range []strategy.Strategy{
			strategy.PeakEWMA{}, strategy.RoundRobin{}, strategy.Random{}, strategy.LeastInFlight{},
			strategy.EpsilonGreedy{}, strategy.Softmax{}, strategy.RoundRobin{Weighted: true}, first{},
		} {
			set := newSet(t, s, hs)
			for name, tried := range map[string][]string{
				"none":           nil,
				"one":            addrs[:1],
				"all but one":    addrs[1:],
				"all":            addrs,
				"not in the set": {"elsewhere:1"},
			} {
				if n > 10 && len(tried) > 10 {
					continue // a thousand tried hosts is no request's history
				}
				if a := testing.AllocsPerRun(200, func() { _, _ = set.Pick(tried) }); a != 0 {
					t.Errorf("%s over %d hosts, tried %s: %v allocations per pick", s.Name(), n, name, a)
				}
			}
		}
	}
}

func TestHostSetConcurrentUpdateAndPick(t *testing.T) {
	a, b := hosts(t, 1, 1, 1), hosts(t, 2, 2)
	set, err := strategy.NewHostSet[string](strategy.PeakEWMA{})
	if err != nil {
		t.Fatal(err)
	}
	errEmpty := errors.New("empty for now")
	sets := [][]strategy.Member[string]{nil, nil, nil}
	for _, h := range a {
		sets[0] = append(sets[0], strategy.Member[string]{Host: h, Value: "a"})
	}
	for _, h := range b {
		sets[1] = append(sets[1], strategy.Member[string]{Host: h, Value: "b"})
	}
	set.Update(sets[0], errEmpty)
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			set.Update(sets[i%3], errEmpty)
		}
	}()
	var pickers sync.WaitGroup
	for g := range 4 {
		pickers.Add(1)
		go func() {
			defer pickers.Done()
			var tried []string
			for k := range 3000 {
				m, err := set.Pick(tried)
				switch {
				case errors.Is(err, errEmpty):
					continue
				case err != nil:
					t.Errorf("pick: %v", err)
					return
				case m.Value != "a" && m.Value != "b":
					t.Errorf("picked %+v", m)
					return
				}
				start := m.Host.Begin()
				var err2 error
				if (g+k)%5 == 0 {
					err2 = errBackend
				}
				m.Host.Record(context.Background(), start, err2)
				tried = append(tried[:0], m.Host.Address())
				_ = set.Stats()
			}
		}()
	}
	pickers.Wait()
	stop.Store(true)
	wg.Wait()
	for _, h := range append(a, b...) {
		if h.InFlight() != 0 {
			t.Fatalf("%s: %d in flight after the load", h.Address(), h.InFlight())
		}
	}
}
