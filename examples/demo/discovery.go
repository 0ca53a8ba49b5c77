package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/consul"
	"github.com/seed41aebe0c/lbkit/publisher/dnssrv"
	"github.com/seed41aebe0c/lbkit/publisher/etcd"
	"github.com/seed41aebe0c/lbkit/publisher/static"
)

// discovery is how the demo's backends are found: the publisher every
// balancer subscribes to, the resolver dialling must use (DNS SRV targets
// are names), and a cleanup that deregisters what the demo registered.
type discovery struct {
	pub      publisher.Publisher
	resolver *net.Resolver
	cleanup  func()
}

// startDiscovery registers the backends with the chosen discovery system
// and returns a publisher that finds them there.
func startDiscovery(ctx context.Context, out io.Writer, cfg config, bs *backends) (*discovery, error) {
	instances := make([]publisher.Instance, len(bs.list))
	for i, b := range bs.list {
		instances[i] = publisher.Instance{Address: b.addr, Weight: b.spec.weight}
	}
	var (
		d   *discovery
		err error
	)
	switch cfg.discovery {
	case "static":
		var p *static.Publisher
		p, err = static.New(instances...)
		d = &discovery{pub: p, cleanup: func() {}}
	case "dns":
		d, err = dnsDiscovery(out, cfg.dnsAddr, instances)
	case "consul":
		d, err = consulDiscovery(ctx, out, cfg.consulAddr, instances)
	case "etcd":
		d, err = etcdDiscovery(ctx, out, cfg.etcdAddr, instances)
	default:
		err = fmt.Errorf("unknown -discovery %q: static, dns, consul or etcd", cfg.discovery)
	}
	if err != nil {
		return nil, err
	}
	if err := waitForInstances(d.pub, len(instances), 15*time.Second); err != nil {
		d.pub.Stop()
		d.cleanup()
		return nil, err
	}
	return d, nil
}

func (d *discovery) stop() {
	d.pub.Stop()
	d.cleanup()
}

func waitForInstances(p publisher.Publisher, n int, limit time.Duration) error {
	sub := p.Subscribe()
	defer sub.Cancel()
	timeout := time.After(limit)
	last := publisher.Event{}
	for {
		select {
		case ev, ok := <-sub.C():
			if !ok {
				return fmt.Errorf("discovery stopped")
			}
			last = ev
			if ev.Err == nil && len(ev.Instances) == n {
				return nil
			}
		case <-timeout:
			return fmt.Errorf("discovery found %d of %d backends after %v (last error: %v)", len(last.Instances), n, limit, last.Err)
		}
	}
}

// dnsZone is the demo's own DNS server: SRV records for the backends under
// _demo._tcp.lbkit.test, each target a name under lbkit.test that resolves to
// 127.0.0.1.
const dnsZone = "lbkit.test."

func dnsDiscovery(out io.Writer, addr string, instances []publisher.Instance) (*discovery, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	records := make([]dns.RR, len(instances))
	for i, in := range instances {
		_, port, _ := net.SplitHostPort(in.Address)
		p, _ := strconv.Atoi(port)
		records[i] = &dns.SRV{
			Hdr:    dns.RR_Header{Name: "_demo._tcp." + dnsZone, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 1},
			Weight: uint16(in.Weight), Port: uint16(p), Target: fmt.Sprintf("backend-%d.%s", i+1, dnsZone),
		}
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		for _, q := range r.Question {
			switch {
			case q.Qtype == dns.TypeSRV && strings.EqualFold(q.Name, "_demo._tcp."+dnsZone):
				m.Answer = append(m.Answer, records...)
			case q.Qtype == dns.TypeA && dns.IsSubDomain(dnsZone, strings.ToLower(q.Name)):
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); srv.ActivateAndServe() }()
	<-started
	server := pc.LocalAddr().String()
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", server)
	}}
	p, err := dnssrv.New("_demo._tcp."+dnsZone, time.Second, dnssrv.WithResolver(resolver))
	if err != nil {
		srv.Shutdown()
		return nil, err
	}
	fmt.Fprintf(out, "discovery: DNS SRV _demo._tcp.%s from the demo's DNS server on %s\n", dnsZone, server)
	return &discovery{pub: p, resolver: resolver, cleanup: func() { srv.Shutdown(); wg.Wait() }}, nil
}

func consulDiscovery(ctx context.Context, out io.Writer, addr string, instances []publisher.Instance) (*discovery, error) {
	cfg := consulapi.DefaultConfig()
	cfg.Address = addr
	client, err := consulapi.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	var regs []*consul.Registrar
	cleanup := func() {
		for _, r := range regs {
			r.Stop()
		}
	}
	for i, in := range instances {
		host, port, _ := net.SplitHostPort(in.Address)
		p, _ := strconv.Atoi(port)
		r, err := consul.NewRegistrar(client, &consulapi.AgentServiceRegistration{
			ID: fmt.Sprintf("lbkit-demo-%d", i+1), Name: "lbkit-demo", Address: host, Port: p,
			Weights: &consulapi.AgentWeights{Passing: in.Weight, Warning: 1},
		}, consul.WithTTLCheck(10*time.Second))
		if err == nil {
			err = r.Register(ctx)
		}
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("registering with Consul at %s (start one with `make registry`): %w", addr, err)
		}
		regs = append(regs, r)
	}
	p, err := consul.New(client, "lbkit-demo")
	if err != nil {
		cleanup()
		return nil, err
	}
	fmt.Fprintf(out, "discovery: Consul at %s, service lbkit-demo\n", addr)
	return &discovery{pub: p, cleanup: cleanup}, nil
}

func etcdDiscovery(ctx context.Context, out io.Writer, addr string, instances []publisher.Instance) (*discovery, error) {
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{addr}, DialTimeout: 3 * time.Second})
	if err != nil {
		return nil, err
	}
	const prefix = "/services/lbkit-demo/"
	var regs []*etcd.Registrar
	cleanup := func() {
		for _, r := range regs {
			r.Stop()
		}
		client.Close()
	}
	for _, in := range instances {
		r, err := etcd.NewRegistrar(client, prefix+in.Address, in, etcd.WithTTL(10*time.Second))
		if err == nil {
			err = r.Register(ctx)
		}
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("registering with etcd at %s: %w", addr, err)
		}
		regs = append(regs, r)
	}
	p, err := etcd.NewPublisher(client, prefix)
	if err != nil {
		cleanup()
		return nil, err
	}
	fmt.Fprintf(out, "discovery: etcd at %s, prefix %s\n", addr, prefix)
	return &discovery{pub: p, cleanup: cleanup}, nil
}
