package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// Outlier ejection and slow start work under any strategy, here
// round-robin: five failures in a row eject a host for 30 s, and when it
// comes back it ramps up from 10% of its share over the slow-start window.
func ExampleWithOutlierEjection() {
	var now time.Duration // a clock of our own, for a reproducible example
	set, err := strategy.NewHostSet[string](strategy.RoundRobin{},
		strategy.WithClock(func() time.Duration { return now }),
		strategy.WithOutlierEjection(strategy.OutlierEjection{}),
		strategy.WithSlowStart(strategy.SlowStart{Window: 10 * time.Second}))
	if err != nil {
		fmt.Println(err)
		return
	}
	var ms []strategy.Member[string]
	for _, addr := range []string{"a:80", "b:80", "c:80", "d:80"} {
		ms = append(ms, strategy.Member[string]{Host: set.NewHost(addr, 1), Value: addr})
	}
	set.Update(ms, nil)

	b := ms[1].Host
	for range 5 {
		b.Record(context.Background(), b.Begin(), errors.New("503"))
	}
	st := b.Stats()
	fmt.Println(st.Ejected, st.EjectionReason, st.EjectedFor)
	count := func() int {
		n := 0
		for range 400 {
			if m, _ := set.Pick(nil); m.Value == "b:80" {
				n++
			}
		}
		return n
	}
	fmt.Println("picks of b while ejected:", count())

	now += 35 * time.Second // ejection over, 5 s into the ramp
	fmt.Printf("share %.1f, %+v\n", b.Stats().Share, set.Health())
	now += 10 * time.Second
	fmt.Println("picks of b at full share:", count())
	// Output:
	// true consecutive-failures 30s
	// picks of b while ejected: 0
	// share 0.5, {Ejected:0 Ramping:1 Panic:false Ejections:1}
	// picks of b at full share: 100
}
