package strategy_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

func loadHosts(t testing.TB, c *fakeClock, n int) []*strategy.Host {
	t.Helper()
	c.now = int64(time.Hour)
	hs := make([]*strategy.Host, n)
	for i := range hs {
		h, err := strategy.NewHost(fmt.Sprintf("127.0.0.1:%d", 9000+i), 1, c.option())
		if err != nil {
			t.Fatal(err)
		}
		hs[i] = h
	}
	return hs
}

// shares rebuilds a WeightedRoundRobin picker's schedule as of the fake
// clock's time, picks n times and returns each host's share.
func shares(p strategy.Picker, hosts, n int) []float64 {
	strategy.RebuildWeights(p)
	return pickShares(p, hosts, n)
}

// pickShares picks n times and returns each host's share.
func pickShares(p strategy.Picker, hosts, n int) []float64 {
	c := make([]float64, hosts)
	for range n {
		c[p.Pick()]++
	}
	for i := range c {
		c[i] /= float64(n)
	}
	return c
}

func within(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol*want {
		t.Errorf("%s = %.4f, want %.4f ±%.0f%%", what, got, want, tol*100)
	}
}

// report has every host report its utilization at the same RPS.
func report(hs []*strategy.Host, util ...float64) {
	for i, h := range hs {
		h.ReportLoad(strategy.LoadReport{CPUUtilization: util[i], RPS: 100})
	}
}

// Shares follow RPS/utilization once the blackout is over (A58): with
// equal RPS, inversely to the utilization.
func TestWeightedRoundRobinSharesFollowReportedLoad(t *testing.T) {
	var c fakeClock
	hs := loadHosts(t, &c, 3)
	p := strategy.WeightedRoundRobin{}.NewPicker(hs)
	util := []float64{0.2, 0.5, 0.9}
	for range 12 { // a report a second for 12 s: past the 10 s blackout
		report(hs, util...)
		c.advance(time.Second)
	}
	got := shares(p, 3, 300_000)
	inv := []float64{1 / 0.2, 1 / 0.5, 1 / 0.9}
	sum := inv[0] + inv[1] + inv[2]
	for i := range got {
		within(t, fmt.Sprintf("share of host at utilization %v", util[i]), got[i], inv[i]/sum, 0.05)
	}
}

// The picks themselves notice a stale schedule and have it rebuilt, off
// their path: the new weights arrive within a few picks after the update
// period, with no pick blocking.
func TestWeightedRoundRobinRebuildsByItself(t *testing.T) {
	var c fakeClock
	hs := loadHosts(t, &c, 2)
	p := strategy.WeightedRoundRobin{BlackoutPeriod: -1}.NewPicker(hs)
	hs[0].ReportLoad(strategy.LoadReport{CPUUtilization: 0.1, RPS: 100})
	hs[1].ReportLoad(strategy.LoadReport{CPUUtilization: 0.9, RPS: 100})
	if got := pickShares(p, 2, 1024); got[0] != 0.5 {
		t.Fatalf("before the update period: share %v, want 0.5 (the schedule built without reports)", got[0])
	}
	c.advance(strategy.DefaultWeightUpdatePeriod)
	deadline := time.Now().Add(5 * time.Second)
	for round := 0; ; round++ {
		if got := pickShares(p, 2, 1024); got[0] > 0.85 {
			break // 0.9 once the new schedule is in
		}
		if round > 10_000 || time.Now().After(deadline) {
			t.Fatal("the schedule was not rebuilt after the update period")
		}
		time.Sleep(time.Millisecond)
	}
}

// With SyncRebuild the pick that finds the schedule stale rebuilds it: the
// new weights are in within sixteen picks, deterministically.
func TestWeightedRoundRobinSyncRebuild(t *testing.T) {
	var c fakeClock
	hs := loadHosts(t, &c, 2)
	p := strategy.WeightedRoundRobin{BlackoutPeriod: -1, SyncRebuild: true, Rand: rand.NewPCG(1, 2)}.NewPicker(hs)
	hs[0].ReportLoad(strategy.LoadReport{CPUUtilization: 0.1, RPS: 100})
	hs[1].ReportLoad(strategy.LoadReport{CPUUtilization: 0.9, RPS: 100})
	c.advance(strategy.DefaultWeightUpdatePeriod)
	pickShares(p, 2, 16)
	if got := pickShares(p, 2, 1024); math.Abs(got[0]-0.9) > 1.0/1024 {
		t.Errorf("share after the update period: %v, want 0.9 to within one slot of the 1,024", got[0])
	}
}

// Within the blackout period the reports are not used yet: equal shares.
// The picker rebuilds its table within a period and the weights take
// effect when the blackout ends, not before.
func TestWeightedRoundRobinHonoursBlackout(t *testing.T) {
	var c fakeClock
	hs := loadHosts(t, &c, 3)
	p := strategy.WeightedRoundRobin{BlackoutPeriod: 5 * time.Second}.NewPicker(hs)
	for range 4 {
		report(hs, 0.1, 0.9, 0.9)
		c.advance(time.Second)
	}
	got := shares(p, 3, 100_000)
	for i := range got {
		within(t, fmt.Sprintf("share of host %d during blackout", i), got[i], 1.0/3, 0.05)
	}
	report(hs, 0.1, 0.9, 0.9)
	c.advance(2 * time.Second)
	got = shares(p, 3, 100_000)
	// 10 : 1.11 : 1.11
	within(t, "share of the idle host after blackout", got[0], 10/(10+2/0.9), 0.05)
}

// A host that stops reporting keeps its weight until its last report
// expires, then gets the mean weight of the others; when it reports again
// the blackout applies anew.
func TestWeightedRoundRobinExpiryFallsBackToMean(t *testing.T) {
	var c fakeClock
	hs := loadHosts(t, &c, 3)
	s := strategy.WeightedRoundRobin{BlackoutPeriod: 2 * time.Second, WeightExpirationPeriod: 10 * time.Second}
	p := s.NewPicker(hs)
	for range 3 {
		report(hs, 0.9, 0.3, 0.3)
		c.advance(time.Second)
	}
	got := shares(p, 3, 100_000)
	within(t, "loaded host's share", got[0], (1/0.9)/(1/0.9+2/0.3), 0.05)

	// Host 0 goes quiet; the others go on reporting.
	for range 11 {
		report(hs[1:], 0.3, 0.3)
		c.advance(time.Second)
	}
	got = shares(p, 3, 100_000)
	within(t, "quiet host's share after expiry (mean weight)", got[0], 1.0/3, 0.05)
	if st := hs[0].Stats().Load; st.ReportingFor != 0 || st.Age < 10*time.Second {
		t.Errorf("quiet host's load stats %+v: want a run ended and an age of 10 s or more", st)
	}

	// It reports again: still the mean weight during the new blackout.
	report(hs, 0.9, 0.3, 0.3)
	c.advance(time.Second)
	got = shares(p, 3, 100_000)
	within(t, "returning host's share during its new blackout", got[0], 1.0/3, 0.05)
	report(hs, 0.9, 0.3, 0.3)
	c.advance(2 * time.Second)
	got = shares(p, 3, 100_000)
	within(t, "returning host's share after the blackout", got[0], (1/0.9)/(1/0.9+2/0.3), 0.05)
}

// EPS/RPS × penalty is added to the utilization; a negative penalty turns
// it off.
func TestWeightedRoundRobinErrorPenalty(t *testing.T) {
	for _, tc := range []struct {
		penalty float64
		want    float64 // share of the failing host
	}{
		{0, (100 / 1.0) / (100/1.0 + 100/0.5)}, // default 1: 0.5 + 50/100
		{-1, 0.5},                              // no penalty: equal
		{2, (100 / 1.5) / (100/1.5 + 100/0.5)}, // 0.5 + 2×0.5
	} {
		var c fakeClock
		hs := loadHosts(t, &c, 2)
		p := strategy.WeightedRoundRobin{BlackoutPeriod: -1, ErrorUtilizationPenalty: tc.penalty}.NewPicker(hs)
		hs[0].ReportLoad(strategy.LoadReport{CPUUtilization: 0.5, RPS: 100, EPS: 50})
		hs[1].ReportLoad(strategy.LoadReport{CPUUtilization: 0.5, RPS: 100})
		c.advance(2 * time.Second)
		got := shares(p, 2, 100_000)
		within(t, fmt.Sprintf("failing host's share with penalty %v", tc.penalty), got[0], tc.want, 0.05)
	}
}

// One freak report cannot take more than WeightMaxRatio times the mean, nor
// starve a host below WeightMinRatio times it.
func TestWeightedRoundRobinClampsWeights(t *testing.T) {
	var c fakeClock
	hs := loadHosts(t, &c, 20)
	p := strategy.WeightedRoundRobin{BlackoutPeriod: -1}.NewPicker(hs)
	util := make([]float64, 20)
	for i := range util {
		util[i] = 0.5
	}
	util[0] = 1e-9 // would be 5·10⁸ times the others
	util[1] = 1e6  // would be 5·10⁻⁷ of the others
	report(hs, util...)
	c.advance(2 * time.Second)
	got := shares(p, 20, 400_000)
	// Mean of the raw weights is dominated by host 0: mean = (1e11 + 18×200
	// + 1e-4)/20; host 0 is capped at 10×mean, every other is raised to
	// 0.01×mean (which is above 200).
	mean := (100/1e-9 + 18*200 + 100/1e6) / 20
	w0, wo := 10*mean, 0.01*mean
	within(t, "share of the freak-low host", got[0], w0/(w0+19*wo), 0.02)
	if got[1] == 0 {
		t.Error("the freak-high host was starved")
	}
}

// Fewer than two hosts with weights: every host alike.
func TestWeightedRoundRobinWithoutReportsIsEven(t *testing.T) {
	var c fakeClock
	hs := loadHosts(t, &c, 4)
	p := strategy.WeightedRoundRobin{BlackoutPeriod: -1}.NewPicker(hs)
	hs[0].ReportLoad(strategy.LoadReport{CPUUtilization: 0.01, RPS: 100})
	c.advance(2 * time.Second)
	for i, s := range shares(p, 4, 100_000) {
		within(t, fmt.Sprintf("share of host %d", i), s, 0.25, 0.05)
	}
}

func TestReportLoadIgnoresUnusableReports(t *testing.T) {
	var c fakeClock
	hs := loadHosts(t, &c, 1)
	h := hs[0]
	for _, r := range []strategy.LoadReport{
		{RPS: 10},                            // no utilization
		{CPUUtilization: 0.5},                // no RPS
		{CPUUtilization: math.NaN(), RPS: 1}, // NaN
		{CPUUtilization: 0.5, RPS: math.Inf(1)},
		{CPUUtilization: -0.5, ApplicationUtilization: 0.5, RPS: 1},
		{CPUUtilization: 0.5, RPS: 1, EPS: -1},
	} {
		h.ReportLoad(r)
	}
	st := h.Stats().Load
	if st.Reports != 6 || st.Ignored != 6 || st.Last != (strategy.LoadReport{}) || st.Age != 0 {
		t.Fatalf("after unusable reports: %+v", st)
	}
	h.ReportLoad(strategy.LoadReport{CPUUtilization: 0.4, ApplicationUtilization: 0.7, RPS: 12, EPS: 1})
	c.advance(3 * time.Second)
	st = h.Stats().Load
	want := strategy.LoadReport{CPUUtilization: 0.4, ApplicationUtilization: 0.7, RPS: 12, EPS: 1}
	if st.Reports != 7 || st.Ignored != 6 || st.Last != want || st.Age != 3*time.Second || st.ReportingFor != 3*time.Second {
		t.Fatalf("after a usable report: %+v", st)
	}
	if u := st.Last.Utilization(); u != 0.7 {
		t.Errorf("Utilization() = %v, want the application's 0.7", u)
	}
}

func TestWeightedRoundRobinValidate(t *testing.T) {
	for _, pen := range []float64{math.NaN(), math.Inf(1)} {
		if err := strategy.Validate(strategy.WeightedRoundRobin{ErrorUtilizationPenalty: pen}); !errors.Is(err, strategy.ErrInvalidArgument) {
			t.Errorf("penalty %v: %v, want ErrInvalidArgument", pen, err)
		}
	}
	if _, err := strategy.NewHostSet[int](strategy.WeightedRoundRobin{}); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if p := (strategy.WeightedRoundRobin{}).NewPicker(nil); p.Pick() != -1 {
		t.Error("empty set picked a host")
	}
}

// BenchmarkWeightedRoundRobinPick measures the pick over 1,000 reporting
// hosts, the weight refresh (one pick per period) included.
func BenchmarkWeightedRoundRobinPick(b *testing.B) {
	for _, n := range []int{10, 1000} {
		hs := make([]*strategy.Host, n)
		for i := range hs {
			hs[i] = newHost(b, fmt.Sprintf("10.0.%d.%d:80", i/256, i%256), 1)
			hs[i].ReportLoad(strategy.LoadReport{CPUUtilization: 0.1 + float64(i%9)/10, RPS: 100, EPS: float64(i % 3)})
		}
		p := strategy.WeightedRoundRobin{BlackoutPeriod: -1, WeightUpdatePeriod: strategy.MinWeightUpdatePeriod}.NewPicker(hs)
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Pick()
			}
		})
		b.Run(fmt.Sprintf("hosts=%d/parallel", n), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					p.Pick()
				}
			})
		})
	}
}

// BenchmarkReportLoad is the cost a report adds to a call's return path.
func BenchmarkReportLoad(b *testing.B) {
	h := newHost(b, "10.0.0.1:80", 1)
	r := strategy.LoadReport{CPUUtilization: 0.4, RPS: 100}
	b.ReportAllocs()
	for b.Loop() {
		h.ReportLoad(r)
	}
}

// BenchmarkWeightedRoundRobinRebuild is what the one pick per update
// period that rebuilds the schedule pays.
func BenchmarkWeightedRoundRobinRebuild(b *testing.B) {
	for _, n := range []int{10, 1000} {
		hs := make([]*strategy.Host, n)
		for i := range hs {
			hs[i] = newHost(b, fmt.Sprintf("10.0.%d.%d:80", i/256, i%256), 1)
			hs[i].ReportLoad(strategy.LoadReport{CPUUtilization: 0.1 + float64(i%9)/10, RPS: 100})
		}
		p := strategy.WeightedRoundRobin{BlackoutPeriod: -1}.NewPicker(hs)
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				strategy.RebuildWeights(p)
			}
		})
	}
}
