package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/consul"
	"github.com/seed41aebe0c/lbkit/publisher/etcd"
)

// reachTimeout bounds how long the example waits for the registry before
// telling the user to start one.
const reachTimeout = 3 * time.Second

type consulRegistry struct {
	client  *consulapi.Client
	service string
}

func newConsulRegistry(addr, service string) (*consulRegistry, error) {
	cfg := consulapi.DefaultConfig()
	cfg.Address = addr
	client, err := consulapi.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), reachTimeout)
	defer cancel()
	if _, err := client.Status().LeaderWithQueryOptions((&consulapi.QueryOptions{}).WithContext(ctx)); err != nil {
		return nil, fmt.Errorf("no Consul agent at %s (start one with `make registry`): %w", addr, err)
	}
	return &consulRegistry{client: client, service: service}, nil
}

func (c *consulRegistry) register(ctx context.Context, id, addr string) (func() error, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, _ := strconv.Atoi(portStr)
	r, err := consul.NewRegistrar(c.client, &consulapi.AgentServiceRegistration{
		ID: id, Name: c.service, Address: host, Port: port,
	}, consul.WithTTLCheck(5*time.Second), consul.WithDeregisterCriticalAfter(time.Minute))
	if err != nil {
		return nil, err
	}
	if err := r.Register(ctx); err != nil {
		r.Stop()
		return nil, err
	}
	return stopper(r), nil
}

func (c *consulRegistry) publisher() (publisher.Publisher, error) {
	return consul.New(c.client, c.service)
}

func (c *consulRegistry) close() {}

type etcdRegistry struct {
	client *clientv3.Client
	prefix string
}

func newEtcdRegistry(addr, service string) (*etcdRegistry, error) {
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{addr}, DialTimeout: reachTimeout})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), reachTimeout)
	defer cancel()
	if _, err := client.Get(ctx, "lbkit-ping", clientv3.WithCountOnly()); err != nil {
		client.Close()
		return nil, fmt.Errorf("no etcd at %s (start one, e.g. Debian's etcd-server): %w", addr, err)
	}
	return &etcdRegistry{client: client, prefix: "/services/" + service + "/"}, nil
}

func (e *etcdRegistry) register(ctx context.Context, _ string, addr string) (func() error, error) {
	r, err := etcd.NewRegistrar(e.client, e.prefix+addr, publisher.Instance{Address: addr}, etcd.WithTTL(5*time.Second))
	if err != nil {
		return nil, err
	}
	if err := r.Register(ctx); err != nil {
		r.Stop()
		return nil, err
	}
	return stopper(r), nil
}

func (e *etcdRegistry) publisher() (publisher.Publisher, error) {
	return etcd.NewPublisher(e.client, e.prefix)
}

func (e *etcdRegistry) close() { e.client.Close() }

// stopper returns the deregistration of r, bounded and with its error, after
// which r is stopped.
func stopper(r interface {
	Deregister(context.Context) error
	Stop()
}) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		defer r.Stop()
		return r.Deregister(ctx)
	}
}
