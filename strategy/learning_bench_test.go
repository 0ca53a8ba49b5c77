package strategy_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// benchHosts returns n hosts with a realistic record: latencies around a
// millisecond and one host in ten failing now and then.
func benchHosts(n int) []*strategy.Stats {
	hs := make([]*strategy.Stats, n)
	for i := range hs {
		h := strategy.NewStats(fmt.Sprintf("10.0.%d.%d:80", i/256, i%256), 1)
		now := h.Now()
		for k := range 20 {
			failed := i%10 == 0 && k%3 == 0
			score := strategy.HostUp
			if failed {
				score = strategy.HostDown
			}
			h.Observe(now, time.Duration(500+(i*7919+k*104729)%1000)*time.Microsecond, failed, score)
		}
		hs[i] = h
	}
	return hs
}

func learningStrategies(tb testing.TB) []strategy.Strategy {
	tb.Helper()
	must := func(s strategy.Strategy, err error) strategy.Strategy {
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
	return []strategy.Strategy{
		must(strategy.NewEpsilonGreedy(0.1)),
		must(strategy.NewSoftmax(0.1)),
		must(strategy.NewUCB1()),
		must(strategy.NewThompson()),
		must(strategy.NewLeastInFlight(2)),
		must(strategy.NewLeastInFlight(3)),
		must(strategy.NewPeakEWMA()),
	}
}

func BenchmarkLearningPick(b *testing.B) {
	for _, n := range []int{10, 1000} {
		hs := benchHosts(n)
		for _, s := range learningStrategies(b) {
			p := s.NewPicker(hs)
			b.Run(fmt.Sprintf("%s/hosts=%d", s.Name(), n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					p.Pick()
				}
			})
			b.Run(fmt.Sprintf("%s/hosts=%d/parallel", s.Name(), n), func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						p.Pick()
					}
				})
			})
		}
	}
}
