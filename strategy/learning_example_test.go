package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// PeakEWMA, fed outcomes, keeps calls away from a host that fails and from
// one that is slow. The clock and the random numbers are fixed here so that
// the output is repeatable; a balancer uses the real ones.
func ExamplePeakEWMA() {
	var now time.Duration = 1
	set, err := strategy.NewHostSet[string](strategy.PeakEWMA{Rand: rand.NewPCG(1, 2)},
		strategy.WithClock(func() time.Duration { return now }))
	if err != nil {
		fmt.Println(err)
		return
	}
	var members []strategy.Member[string]
	for _, addr := range []string{"fast:80", "slow:80", "failing:80", "also-fast:80"} {
		members = append(members, strategy.Member[string]{Host: set.NewHost(addr, 1), Value: addr})
	}
	set.Update(members, nil)
	errFailed := errors.New("failed")
	calls := map[string]int{}
	for range 2000 {
		m, _ := set.Pick(nil)
		calls[m.Value]++
		start := m.Host.Begin()
		latency, err := time.Millisecond, error(nil)
		switch m.Value {
		case "slow:80":
			latency = 20 * time.Millisecond
		case "failing:80":
			err = errFailed
		}
		now += latency
		m.Host.Record(context.Background(), start, err)
	}
	fmt.Println("slow and failing hosts got under 2% of the calls:", calls["slow:80"]+calls["failing:80"] < 40)
	// Output: slow and failing hosts got under 2% of the calls: true
}

// Softmax shares calls by score: with temperature 0.1, a host that fails one
// call in ten gets about e⁻¹ (0.37) of the traffic of a host that never
// fails (its recent record, of about 50 calls, holds four to six failures).
func ExampleSoftmax() {
	var now time.Duration = 1
	clock := strategy.WithClock(func() time.Duration { return now })
	good, _ := strategy.NewHost("good:80", 1, clock)
	flaky, _ := strategy.NewHost("flaky:80", 1, clock)
	ctx := context.Background()
	for i := range 1000 {
		g, f := good.Begin(), flaky.Begin()
		now += time.Millisecond
		good.Record(ctx, g, nil)
		if i%10 == 0 {
			flaky.Record(ctx, f, errors.New("failed"))
		} else {
			flaky.Record(ctx, f, nil)
		}
	}
	p := strategy.Softmax{Temperature: 0.1, Bandit: strategy.Bandit{Rand: rand.NewPCG(3, 4)}}.NewPicker([]*strategy.Host{good, flaky})
	n := [2]int{}
	for range 100000 {
		n[p.Pick()]++
	}
	fmt.Printf("flaky/good traffic: %.1f\n", float64(n[1])/float64(n[0]))
	// Output: flaky/good traffic: 0.4
}

// Least-in-flight with two choices (P2C, its default) sends a call to the
// less loaded of two random hosts.
func ExampleLeastInFlight() {
	busy, _ := strategy.NewHost("busy:80", 1)
	idle, _ := strategy.NewHost("idle:80", 1)
	for range 3 {
		busy.Begin() // three calls under way
	}
	hosts := []*strategy.Host{busy, idle}
	fmt.Println(hosts[strategy.LeastInFlight{}.NewPicker(hosts).Pick()].Address())
	// Output: idle:80
}

// Bad parameters are errors, comparable with errors.Is; the zero value of
// every strategy is valid and means its defaults.
func ExampleValidate() {
	err := strategy.Validate(strategy.EpsilonGreedy{Epsilon: 1.5})
	fmt.Println(err)
	fmt.Println(errors.Is(err, strategy.ErrInvalidArgument))
	fmt.Println(strategy.Validate(strategy.EpsilonGreedy{}), strategy.EpsilonGreedy{}.Name())
	// Output:
	// strategy: invalid argument: epsilon-greedy: epsilon 1.5 outside [0,1]
	// true
	// <nil> epsilon-greedy(0.1)
}

// The peak-sensitive latency average jumps to a slow response at once and
// forgets it over the short window.
func ExampleHost_Stats() {
	var now time.Duration = 1
	h, err := strategy.NewHost("a:80", 1, strategy.WithClock(func() time.Duration { return now }), strategy.WithShortWindow(time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	call := func(latency time.Duration) {
		start := h.Begin()
		now += latency
		h.Record(context.Background(), start, nil)
	}
	call(time.Millisecond)
	now += 9 * time.Millisecond
	call(50 * time.Millisecond)
	fmt.Println("after a slow call:", h.Stats().PeakLatency)
	for range 100 {
		now += 9 * time.Millisecond
		call(time.Millisecond)
	}
	fmt.Println("a second of fast calls later:", h.Stats().PeakLatency.Round(time.Millisecond))
	// Output:
	// after a slow call: 50ms
	// a second of fast calls later: 19ms
}
