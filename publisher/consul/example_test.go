package consul_test

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/hashicorp/consul/api"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/consul"
)

// A publisher for the passing "web" instances tagged both "v2" and "eu",
// read from a TLS agent with an ACL token, feeding a round-robin balancer.
func ExampleNewFromConfig() {
	cfg := api.DefaultConfig() // CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, ... apply
	cfg.Address = "127.0.0.1:8501"
	cfg.Scheme = "https"
	cfg.Token = "my-acl-token"
	cfg.TLSConfig = api.TLSConfig{CAFile: "/etc/consul/ca.pem"}
	p, err := consul.NewFromConfig(cfg, "web", consul.WithTags("v2", "eu"), consul.WithDatacenter("dc1"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Stop()
	b, err := loadbalancer.New(p, factory)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	// b.Endpoint() now picks among the live instances.
}

// A registrar that keeps a TTL check passing while the process runs and
// hands the errors of its background refresh to the caller.
func ExampleNewRegistrar() {
	client, err := api.NewClient(api.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := consul.NewRegistrar(client, &api.AgentServiceRegistration{
		ID: "web-10-0-0-5-8080", Name: "web", Address: "10.0.0.5", Port: 8080,
		Tags:    []string{"v2", "eu"},
		Weights: &api.AgentWeights{Passing: 10, Warning: 1},
	},
		consul.WithTTLCheck(10*time.Second),
		consul.WithDeregisterCriticalAfter(time.Minute),
		consul.WithErrorHandler(func(err error) { fmt.Println("consul:", err) }),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Register(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer r.Stop() // deregisters
}

// catalog is a HealthClient over entries held in memory, standing in here
// for client.Health(); a wrapper that counts or traces queries has the same
// shape.
type catalog []*api.ServiceEntry

func (c catalog) ServiceMultipleTags(string, []string, bool, *api.QueryOptions) ([]*api.ServiceEntry, *api.QueryMeta, error) {
	return c, &api.QueryMeta{LastIndex: 1}, nil
}

// What Consul's entries become: the service address, else the node's;
// IPv6 in brackets; the passing weight; entries without a usable address
// left out.
func ExampleNewWithHealth() {
	h := catalog{
		{Node: &api.Node{Node: "n1", Address: "10.0.0.1"}, Service: &api.AgentService{ID: "a", Port: 8080, Weights: api.AgentWeights{Passing: 3}}},
		{Node: &api.Node{Node: "n2", Address: "10.0.0.2"}, Service: &api.AgentService{ID: "b", Address: "2001:db8::5", Port: 8080}},
		{Node: &api.Node{Node: "n3"}, Service: &api.AgentService{ID: "c", Port: 8080}},
	}
	p, err := consul.NewWithHealth(h, "web", consul.WithWaitTime(time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Stop()
	ev := <-p.Subscribe().C()
	for _, in := range ev.Instances {
		fmt.Println(in.Address, in.EffectiveWeight(), in.Metadata[consul.MetaServiceID])
	}
	// Output:
	// 10.0.0.1:8080 3 a
	// [2001:db8::5]:8080 1 b
}

// factory makes an endpoint per instance; a real one would build an HTTP
// or gRPC client for the address.
func factory(instance string) (endpoint.Endpoint, io.Closer, error) {
	return func(context.Context, any) (any, error) { return "answered by " + instance, nil }, nil, nil
}
