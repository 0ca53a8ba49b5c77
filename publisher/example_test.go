package publisher_test

import (
	"fmt"

	"github.com/go-kit/kit/sd"

	"github.com/seed41aebe0c/lbkit/publisher"
)

// A discovery source of your own embeds Fanout and publishes complete
// instance sets; subscribers get the current set at once.
func ExampleFanout() {
	var f publisher.Fanout
	f.Publish(publisher.Event{Instances: []publisher.Instance{
		{Address: "10.0.0.2:80", Weight: 2},
		{Address: "10.0.0.1:80"},
	}})
	s := f.Subscribe()
	ev := <-s.C()
	for _, in := range ev.Instances {
		fmt.Println(in.Address, in.EffectiveWeight())
	}
	f.Close()
	// Output:
	// 10.0.0.1:80 1
	// 10.0.0.2:80 2
}

// Any go-kit sd.Instancer (ZooKeeper, Eureka, your own) feeds lbkit.
func ExampleFromInstancer() {
	p, err := publisher.FromInstancer(sd.FixedInstancer{"127.0.0.1:8080", "127.0.0.1:8081"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Stop()
	ev := <-p.Subscribe().C()
	fmt.Println(publisher.Addresses(ev.Instances))
	// Output: [127.0.0.1:8080 127.0.0.1:8081]
}
