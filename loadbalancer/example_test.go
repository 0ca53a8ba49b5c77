package loadbalancer_test

import (
	"context"
	"fmt"
	"io"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/static"
)

func Example() {
	// Discovery: here a fixed list; dnssrv, consul and etcd publish the same way.
	p, _ := static.NewAddresses("127.0.0.1:8080", "127.0.0.1:8081")
	defer p.Stop()

	// A go-kit sd.Factory: an endpoint (usually an HTTP or gRPC client) per instance.
	factory := func(instance string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) { return "hello from " + instance, nil }, nil, nil
	}

	b, err := loadbalancer.New(p, factory, roundRobin)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	seen := map[any]bool{}
	for range 4 {
		e, _ := b.Endpoint()
		resp, _ := e(context.Background(), nil)
		seen[resp] = true
	}
	fmt.Println(len(seen), "instances used")
	for _, h := range b.Status().Hosts {
		fmt.Println(h.Address, h.Requests, "requests, score", h.Score)
	}
	// Output:
	// 2 instances used
	// 127.0.0.1:8080 2 requests, score 1
	// 127.0.0.1:8081 2 requests, score 1
}
