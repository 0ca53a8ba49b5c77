package subset_test

import (
	"fmt"
	"slices"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/subset"
)

// Six clients over nine backends, three backends each: every backend
// gets 6·3/9 = 2 clients.
func ExampleAssign() {
	backends := []string{"b1:80", "b2:80", "b3:80", "b4:80", "b5:80", "b6:80", "b7:80", "b8:80", "b9:80"}
	clients := map[string]int{}
	for rank := range 6 {
		s, _ := subset.Assign(backends, rank, 6, 3)
		for _, b := range s {
			clients[b]++
		}
	}
	for _, b := range backends {
		fmt.Print(clients[b], " ")
	}
	fmt.Println()
	// Output:
	// 2 2 2 2 2 2 2 2 2
}

// A client finds its rank among its peers, as registered in discovery,
// and publishes only its subset of the backends: the publisher to give
// loadbalancer.New.
func ExampleNew() {
	backends, _ := static.NewAddresses("b1:80", "b2:80", "b3:80", "b4:80", "b5:80", "b6:80")
	defer backends.Stop()
	peers, _ := static.NewAddresses("client-a", "client-b", "client-c")
	defer peers.Stop()

	p, err := subset.New(backends, 2, subset.Peers(peers, "client-b"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Stop()
	// b, err := loadbalancer.New(p, factory)

	st := p.Stats()
	fmt.Printf("rank %d of %d, %d backends of %d\n", st.Rank, st.Count, len(st.Subset), st.Backends)
	want, _ := subset.Assign(publisher.Addresses(backends.Instances()), 1, 3, 2)
	fmt.Println(slices.Equal(st.Subset, want))
	// Output:
	// rank 1 of 3, 2 backends of 6
	// true
}

// Under the LowChurn design a backend leaving changes only the subsets
// that held it, each by that one backend.
func ExampleAssignLowChurn() {
	backends := []string{"b1:80", "b2:80", "b3:80", "b4:80", "b5:80", "b6:80", "b7:80", "b8:80"}
	held, moved := 0, 0
	for _, client := range []string{"client-a", "client-b", "client-c", "client-d", "client-e", "client-f"} {
		before, _ := subset.AssignLowChurn(backends, client, 3)
		after, _ := subset.AssignLowChurn(backends[1:], client, 3) // b1 leaves
		if slices.Contains(before, "b1:80") {
			held++
		}
		for _, b := range after {
			if !slices.Contains(before, b) {
				moved++
			}
		}
	}
	fmt.Printf("%d clients held b1; %d backends changed\n", held, moved)
	// Output:
	// 4 clients held b1; 4 backends changed
}
