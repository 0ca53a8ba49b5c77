package strategy_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// A host set over three backends: each attempt of a request picks a host
// not tried yet, records its outcome on the host, and the strategy learns
// from it. The load balancer does this with endpoints as the members'
// values; here they are plain addresses.
func Example() {
	set, err := strategy.NewHostSet[string](strategy.PeakEWMA{})
	if err != nil {
		fmt.Println(err)
		return
	}
	var members []strategy.Member[string]
	for _, addr := range []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"} {
		members = append(members, strategy.Member[string]{Host: set.NewHost(addr, 1), Value: "http://" + addr})
	}
	set.Update(members, nil)

	// A request whose first attempt fails, wherever it goes, and whose
	// retry succeeds.
	ctx := context.Background()
	var tried []string
	for attempt := 1; ; attempt++ {
		m, err := set.Pick(tried)
		if err != nil {
			fmt.Println(err)
			return
		}
		start := m.Host.Begin()
		var callErr error // the call to m.Value would go here
		if attempt == 1 {
			callErr = errors.New("connection refused")
		}
		m.Host.Record(ctx, start, callErr)
		tried = append(tried, m.Host.Address())
		if callErr == nil {
			break
		}
	}
	var used int
	var requests, failures uint64
	for _, st := range set.Stats() {
		if st.Started > 0 {
			used++
		}
		requests += st.Requests
		failures += st.Failures
	}
	fmt.Printf("attempts %d on %d hosts, failures %d\n", len(tried), used, failures)
	fmt.Println("outcomes recorded:", requests)

	set.Update(nil, nil)
	_, err = set.Pick(nil)
	fmt.Println(err)
	// Output:
	// attempts 2 on 2 hosts, failures 1
	// outcomes recorded: 2
	// strategy: no hosts
}

// A picker is built once per host set and then serves every request.
func ExampleRoundRobin() {
	a, _ := strategy.NewHost("a:80", 3)
	b, _ := strategy.NewHost("b:80", 1)
	hosts := []*strategy.Host{a, b}
	p := strategy.RoundRobin{Weighted: true}.NewPicker(hosts)
	n := map[string]int{}
	for range 8 {
		n[hosts[p.Pick()].Address()]++
	}
	fmt.Println(n["a:80"], n["b:80"])
	// Output: 6 2
}

// A host records outcomes; strategies read them, status pages read the
// snapshot.
func ExampleHost_Record() {
	h, err := strategy.NewHost("a:80", 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	start := h.Begin()
	h.Record(context.Background(), start, errors.New("connection reset")) // a failed call

	// A call the caller gave up on says nothing about the host.
	ctx, cancel := context.WithCancel(context.Background())
	start = h.Begin()
	cancel()
	h.Record(ctx, start, context.Canceled)

	st := h.Stats()
	fmt.Printf("started %d, in flight %d, recorded %d, failures %d, score %.1f\n", st.Started, st.InFlight, st.Requests, st.Failures, st.Score)
	// Output: started 2, in flight 0, recorded 1, failures 1, score 0.0
}
