package strategy_test

import (
	"errors"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// Greedy turns exploration off: once one host has failed, every pick of the
// interval goes to the others.
func TestEpsilonGreedyGreedyNeverExplores(t *testing.T) {
	var now time.Duration
	set, err := strategy.NewHostSet[int](strategy.EpsilonGreedy{Greedy: true}, strategy.WithClock(func() time.Duration { return now }))
	if err != nil {
		t.Fatal(err)
	}
	good, bad := set.NewHost("good", 1), set.NewHost("bad", 1)
	for range 20 {
		bad.RecordScore(nil, bad.Begin(), errors.New("down"), strategy.HostDown)
		good.RecordScore(nil, good.Begin(), nil, strategy.HostUp)
	}
	set.Update([]strategy.Member[int]{{Host: good}, {Host: bad}}, nil)
	for range 10000 {
		m, err := set.Pick(nil)
		if err != nil || m.Host != good {
			t.Fatalf("pick %v %v, want the good host every time", m.Host.Address(), err)
		}
	}
	if name := (strategy.EpsilonGreedy{Greedy: true}).Name(); name != "epsilon-greedy(0)" {
		t.Fatalf("name %q", name)
	}
}
