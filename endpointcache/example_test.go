package endpointcache_test

import (
	"context"
	"fmt"
	"io"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/endpointcache"
	"github.com/seed41aebe0c/lbkit/publisher"
)

type closer string

func (c closer) Close() error { fmt.Println("closed", string(c)); return nil }

// The cache calls the factory only for new instances and closes the ones
// that leave, exactly once.
func Example() {
	factory := func(instance string) (endpoint.Endpoint, io.Closer, error) {
		fmt.Println("factory", instance)
		return func(context.Context, any) (any, error) { return instance, nil }, closer(instance), nil
	}
	c, _ := endpointcache.New(factory)
	c.Update(publisher.Event{Instances: publisher.FromAddresses("10.0.0.1:80", "10.0.0.2:80")})
	c.Update(publisher.Event{Instances: publisher.FromAddresses("10.0.0.2:80", "10.0.0.3:80")})
	for _, e := range c.Snapshot().Entries {
		resp, _ := e.Endpoint(context.Background(), nil)
		fmt.Println("live", resp)
	}
	c.Close()
	// Output:
	// factory 10.0.0.1:80
	// factory 10.0.0.2:80
	// factory 10.0.0.3:80
	// closed 10.0.0.1:80
	// live 10.0.0.2:80
	// live 10.0.0.3:80
	// closed 10.0.0.2:80
	// closed 10.0.0.3:80
}
