package strategy_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// TestPeakEWMAClientOfManyHostsKeepsShunningBadOnes: one client of its own
// PeakEWMA balancer (defaults, seeded), one call at a time, 1 ms each, over
// 500 hosts of which every 20th fails half its calls, so that it sees each
// host about twice a second. After the first 2 s its first tries must
// succeed 99.8% of the time (random choice: 97.5%). With records and
// latencies that faded with the 5 s short window, whatever the host's
// visits, the client went back to each bad host every few seconds and
// settled near 99.5%, as the simulator's per-client scenario showed.
func TestPeakEWMAClientOfManyHostsKeepsShunningBadOnes(t *testing.T) {
	clk := &fakeClock{now: 1}
	hs := make([]*strategy.Host, 500)
	for i := range hs {
		hs[i] = newHost(t, fmt.Sprintf("h%d:80", i), 1, clk.option())
	}
	p := strategy.PeakEWMA{Rand: seeded(41)}.NewPicker(hs)
	world := rand.New(rand.NewPCG(42, 43))
	out := func(i int) (time.Duration, bool) {
		lat := time.Duration(world.ExpFloat64() * float64(time.Millisecond))
		return lat, i%20 == 0 && world.IntN(2) == 0
	}
	calls, fails := 0, 0
	for n := range 20_000 {
		i := p.Pick()
		lat, failed := out(i)
		clk.advance(lat + time.Microsecond)
		score := strategy.HostUp
		if failed {
			score = strategy.HostDown
		}
		strategy.Observe(hs[i], clk.now, lat, failed, score)
		if n >= 2_000 {
			calls++
			if failed {
				fails++
			}
		}
	}
	if ok := 1 - float64(fails)/float64(calls); ok < 0.998 {
		t.Errorf("first tries after the first 10%% succeeded %.3f%% of the time, want at least 99.8%%", 100*ok)
	}
	if testing.Verbose() {
		t.Logf("first tries after the first 10%%: %.3f%%", 100*(1-float64(fails)/float64(calls)))
	}
}
