package strategy_test

import (
	"fmt"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// Hosts of two priorities are failover tiers: while tier 0 is healthy it
// gets every pick, whatever the strategy.
func ExampleHostSet_Groups() {
	set, _ := strategy.NewHostSet[string](strategy.RoundRobin{})
	var ms []strategy.Member[string]
	for _, h := range []struct {
		addr string
		prio int
	}{{"a:80", 0}, {"b:80", 0}, {"backup:80", 10}} {
		host := set.NewHost(h.addr, 1)
		host.SetPriority(h.prio) // the balancer copies publisher.Instance.Priority
		ms = append(ms, strategy.Member[string]{Host: host, Value: h.addr})
	}
	set.Update(ms, nil)
	for _, g := range set.Groups() {
		fmt.Printf("priority %d: %d of %d healthy, share %.0f%%\n", g.Priority, g.Healthy, g.Hosts, 100*g.Share)
	}
	backup := 0
	for range 1000 {
		if m, _ := set.Pick(nil); m.Value == "backup:80" {
			backup++
		}
	}
	fmt.Println("picks of the backup:", backup)
	// Output:
	// priority 0: 2 of 2 healthy, share 100%
	// priority 10: 1 of 1 healthy, share 0%
	// picks of the backup: 0
}
