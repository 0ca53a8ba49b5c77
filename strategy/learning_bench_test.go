package strategy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// benchHosts returns n hosts with a realistic record: latencies around a
// millisecond and one host in ten failing now and then.
func benchHosts(tb testing.TB, n int) []*strategy.Host {
	tb.Helper()
	hs := make([]*strategy.Host, n)
	for i := range hs {
		h := newHost(tb, fmt.Sprintf("10.0.%d.%d:80", i/256, i%256), 1)
		now := strategy.Now(h)
		for k := range 20 {
			failed := i%10 == 0 && k%3 == 0
			score := strategy.HostUp
			if failed {
				score = strategy.HostDown
			}
			strategy.Observe(h, now, time.Duration(500+(i*7919+k*104729)%1000)*time.Microsecond, failed, score)
		}
		hs[i] = h
	}
	return hs
}

// learningStrategies are the strategies that read load or outcomes, with
// their defaults, as the benchmarks compare them.
func learningStrategies(testing.TB) []strategy.Strategy {
	return []strategy.Strategy{
		strategy.EpsilonGreedy{Epsilon: 0.1},
		strategy.Softmax{Temperature: 0.1},
		strategy.UCB1{},
		strategy.Thompson{},
		strategy.LeastInFlight{Choices: 2},
		strategy.LeastInFlight{Choices: 3},
		strategy.PeakEWMA{},
	}
}

func BenchmarkLearningPick(b *testing.B) {
	for _, n := range []int{10, 1000} {
		hs := benchHosts(b, n)
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

// BenchmarkHostSetPick is the request path's pick through the host set:
// the strategy's pick plus the set's load and bounds check, and, with a
// host tried, the check against it.
func BenchmarkHostSetPick(b *testing.B) {
	for _, n := range []int{10, 1000} {
		hs := benchHosts(b, n)
		for _, s := range []strategy.Strategy{strategy.PeakEWMA{}, strategy.RoundRobin{}} {
			set := newSet(b, s, hs)
			tried := []string{hs[0].Address()}
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
		}
	}
}

// BenchmarkRecord is the outcome's path: Begin and Record on one host.
func BenchmarkRecord(b *testing.B) {
	h := benchHosts(b, 1)[0]
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.Record(ctx, h.Begin(), nil)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.Record(ctx, h.Begin(), nil)
			}
		})
	})
}
