package instancehost_test

import (
	"fmt"

	"github.com/seed41aebe0c/lbkit/internal/instancehost"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// A discovered instance of the second tier, in zone eu-1b.
func ExampleNew() {
	set, _ := strategy.NewHostSet[string](strategy.RoundRobin{})
	h := instancehost.New(set, publisher.Instance{Address: "10.0.0.7:80", Priority: 1, Zone: "eu-1b"})
	fmt.Println(h.Address(), h.Priority(), h.Stats().Zone)
	// Output:
	// 10.0.0.7:80 1 eu-1b
}
