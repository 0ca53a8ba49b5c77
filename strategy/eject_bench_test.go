package strategy_test

import (
	"fmt"
	"testing"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// BenchmarkHostSetPickGuarded is BenchmarkHostSetPick with outlier
// ejection and slow start on, and both at work: of 1,000 hosts, 10% are
// ejected (the default cap) and about 1% ramping up after joining.
func BenchmarkHostSetPickGuarded(b *testing.B) {
	const n = 1000
	for _, s := range []strategy.Strategy{strategy.PeakEWMA{}, strategy.RoundRobin{}} {
		set, err := strategy.NewHostSet[int](s, strategy.WithOutlierEjection(strategy.OutlierEjection{}), strategy.WithSlowStart(strategy.SlowStart{}))
		if err != nil {
			b.Fatal(err)
		}
		hs := make([]*strategy.Host, n)
		for i := range hs {
			hs[i] = set.NewHost(fmt.Sprintf("10.0.%d.%d:80", i/256, i%256), 1)
			ok(hs[i], 20)
		}
		set.Update(members(hs[:n-10]), nil)
		set.Update(members(hs), nil) // the last 10 join: they ramp
		for i := 0; i < n; i += 10 {
			fail(hs[i], strategy.DefaultConsecutiveFailures)
		}
		if h := set.Health(); h.Ejected != n/10 || h.Ramping != 9 { // one newcomer is ejected
			b.Fatalf("health %+v", h)
		}
		tried := []string{hs[1].Address()}
		b.Run(fmt.Sprintf("%s/hosts=%d", s.Name(), n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = set.Pick(nil)
			}
		})
		b.Run(fmt.Sprintf("%s/hosts=%d/tried=1", s.Name(), n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = set.Pick(tried)
			}
		})
		b.Run(fmt.Sprintf("%s/hosts=%d/parallel", s.Name(), n), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_, _ = set.Pick(nil)
				}
			})
		})
	}
}
