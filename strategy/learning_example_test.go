package strategy_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// PeakEWMA, fed outcomes, keeps calls away from a host that fails and from
// one that is slow. The clock and the random numbers are fixed here so that
// the output is repeatable; a balancer uses the real ones.
func ExampleNewPeakEWMA() {
	var now int64 = 1
	clock := func() int64 { return now }
	hosts := []*strategy.Stats{
		strategy.NewStats("fast:80", 1, strategy.WithClock(clock)),
		strategy.NewStats("slow:80", 1, strategy.WithClock(clock)),
		strategy.NewStats("failing:80", 1, strategy.WithClock(clock)),
		strategy.NewStats("also-fast:80", 1, strategy.WithClock(clock)),
	}
	s, err := strategy.NewPeakEWMA(strategy.WithRand(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	p := s.NewPicker(hosts)
	calls := map[string]int{}
	for range 2000 {
		h := hosts[p.Pick()]
		calls[h.Address()]++
		start := h.Begin()
		latency, failed := time.Millisecond, false
		switch h.Address() {
		case "slow:80":
			latency = 20 * time.Millisecond
		case "failing:80":
			failed = true
		}
		now += int64(latency)
		score := strategy.HostUp
		if failed {
			score = strategy.HostDown
		}
		h.End(start, now, failed, score)
	}
	fmt.Println("slow and failing hosts got under 2% of the calls:", calls["slow:80"]+calls["failing:80"] < 40)
	// Output: slow and failing hosts got under 2% of the calls: true
}

// Softmax shares calls by score: with temperature 0.1, a host that fails one
// call in ten gets e⁻¹ of the traffic of a host that never fails.
func ExampleNewSoftmax() {
	var now int64 = 1
	clock := func() int64 { return now }
	good := strategy.NewStats("good:80", 1, strategy.WithClock(clock))
	flaky := strategy.NewStats("flaky:80", 1, strategy.WithClock(clock))
	for i := range 1000 {
		good.Observe(now, time.Millisecond, false, strategy.HostUp)
		if i%10 == 0 {
			flaky.Observe(now, time.Millisecond, true, strategy.HostDown)
		} else {
			flaky.Observe(now, time.Millisecond, false, strategy.HostUp)
		}
	}
	s, err := strategy.NewSoftmax(0.1, strategy.WithRand(rand.NewPCG(3, 4)))
	if err != nil {
		fmt.Println(err)
		return
	}
	p := s.NewPicker([]*strategy.Stats{good, flaky})
	n := [2]int{}
	for range 100000 {
		n[p.Pick()]++
	}
	fmt.Printf("flaky/good traffic: %.2f\n", float64(n[1])/float64(n[0]))
	// Output: flaky/good traffic: 0.37
}

// Least-in-flight with k = 2 (P2C) sends a call to the less loaded of two
// random hosts.
func ExampleNewLeastInFlight() {
	hosts := []*strategy.Stats{strategy.NewStats("busy:80", 1), strategy.NewStats("idle:80", 1)}
	for range 3 {
		hosts[0].Begin() // three calls under way
	}
	s, err := strategy.NewLeastInFlight(2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(hosts[s.NewPicker(hosts).Pick()].Address())
	// Output: idle:80
}

// Bad parameters are errors, comparable with errors.Is.
func ExampleNewEpsilonGreedy() {
	_, err := strategy.NewEpsilonGreedy(1.5)
	fmt.Println(err)
	// Output: strategy: invalid argument: epsilon 1.5 outside [0,1]
}

// The peak-sensitive latency average jumps to a slow response at once and
// forgets it over the short window.
func ExampleStats_PeakLatency() {
	var now int64 = 1
	s := strategy.NewStats("a:80", 1, strategy.WithClock(func() int64 { return now }), strategy.WithShortWindow(time.Second))
	s.Observe(now, time.Millisecond, false, strategy.HostUp)
	now += int64(10 * time.Millisecond)
	s.Observe(now, 50*time.Millisecond, false, strategy.HostUp)
	fmt.Println("after a slow call:", s.PeakLatency(now))
	for range 100 {
		now += int64(10 * time.Millisecond)
		s.Observe(now, time.Millisecond, false, strategy.HostUp)
	}
	fmt.Println("a second of fast calls later:", s.PeakLatency(now).Round(time.Millisecond))
	// Output:
	// after a slow call: 50ms
	// a second of fast calls later: 19ms
}
