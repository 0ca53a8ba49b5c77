package static_test

import (
	"fmt"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
)

func ExamplePublisher_Replace() {
	p, _ := static.NewAddresses("127.0.0.1:8080")
	s := p.Subscribe()
	fmt.Println(publisher.Addresses((<-s.C()).Instances))
	_ = p.Replace(publisher.FromAddresses("127.0.0.1:8081", "127.0.0.1:8082")...)
	fmt.Println(publisher.Addresses((<-s.C()).Instances))
	p.Stop()
	// Output:
	// [127.0.0.1:8080]
	// [127.0.0.1:8081 127.0.0.1:8082]
}
