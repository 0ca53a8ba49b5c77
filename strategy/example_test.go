package strategy_test

import (
	"fmt"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// A picker is built once per host set and then serves every request.
func ExampleWeightedRoundRobin() {
	hosts := []*strategy.Stats{
		strategy.NewStats("a:80", 3),
		strategy.NewStats("b:80", 1),
	}
	p := strategy.WeightedRoundRobin().NewPicker(hosts)
	n := map[string]int{}
	for range 8 {
		n[hosts[p.Pick()].Address()]++
	}
	fmt.Println(n["a:80"], n["b:80"])
	// Output: 6 2
}

// Stats records outcomes; learning strategies read them.
func ExampleStats() {
	s := strategy.NewStats("a:80", 1)
	start := s.Begin()
	s.Done(start, true, 0) // a failed call
	fmt.Printf("in flight %d, score %.1f, failures %d\n", s.InFlight(), s.Score(), s.Failures())
	// Output: in flight 0, score 0.0, failures 1
}
