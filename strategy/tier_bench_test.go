package strategy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// BenchmarkTierPick is the pick through a set of 1,000 hosts in two
// priority tiers, and in three zones of those tiers with zone-aware
// routing, next to the same hosts in one group (BenchmarkHostSetPick's
// case). Every fourth host is unhealthy in each layout, so that each group's
// picker sees the same mix. The shares are recomputed inside the
// benchmark, as under load.
func BenchmarkTierPick(b *testing.B) {
	const n = 1000
	for _, s := range []strategy.Strategy{strategy.PeakEWMA{}, strategy.RoundRobin{}} {
		for _, layout := range []string{"one-group", "tiers=2", "tiers=2/zones=3", "tiers=2/zones=3/ejection+slow-start"} {
			hs := benchHosts(b, n)
			var opts []strategy.Option
			for i, h := range hs {
				if layout != "one-group" && i >= n/2 {
					h.SetPriority(1)
				}
				if strings.HasPrefix(layout, "tiers=2/zones=3") {
					h.SetZone(fmt.Sprintf("z%d", i%3))
				}
			}
			if strings.HasPrefix(layout, "tiers=2/zones=3") {
				opts = append(opts, strategy.WithLocalZone("z0", 0))
			}
			if strings.HasSuffix(layout, "ejection+slow-start") {
				// Everything issue 14 asks the pick to carry at once.
				opts = append(opts, strategy.WithOutlierEjection(strategy.OutlierEjection{}), strategy.WithSlowStart(strategy.SlowStart{}))
			}
			// Without overprovisioning a quarter of the hosts unhealthy
			// sends a quarter of the picks to tier 1: both tiers are drawn.
			opts = append(opts, strategy.WithOverprovisioning(1))
			set := newSet(b, s, hs, opts...)
			for i := 0; i < n; i += 4 {
				for range 20 {
					strategy.Observe(hs[i], strategy.Now(hs[i]), 0, true, 0)
				}
			}
			b.Run(fmt.Sprintf("%s/hosts=%d/%s", s.Name(), n, layout), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_, _ = set.Pick(nil)
				}
			})
		}
	}
}
