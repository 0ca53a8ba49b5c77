package dnssrv

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// domain is the test zone. Every name under it has an A record for
// 127.0.0.1, so any SRV target the tests invent resolves to the loopback
// HTTP servers.
const domain = "svc.test."

// zone is a real DNS server (UDP and TCP on one 127.0.0.1 port) serving SRV
// records that the test edits while it runs. It can be stopped and started
// again on the same port, as a DNS server restarts.
type zone struct {
	t    *testing.T
	addr string
	ttl  uint32

	mu    sync.Mutex
	srv   map[string][]*dns.SRV // by lowercased owner name
	fault fault

	run     sync.Mutex // guards udp, tcp and wg across stop and start
	udp     *dns.Server
	tcp     *dns.Server
	wg      sync.WaitGroup
	running bool
}

// startZone starts a zone server on a free 127.0.0.1 port. The records'
// TTL is ttl seconds.
func startZone(t *testing.T, ttl uint32) *zone {
	t.Helper()
	z := &zone{t: t, ttl: ttl, srv: map[string][]*dns.SRV{}}
	z.start()
	t.Cleanup(z.stop)
	return z
}

// start serves on z.addr, or on a free port the first time.
func (z *zone) start() {
	z.t.Helper()
	z.run.Lock()
	defer z.run.Unlock()
	if z.running {
		return
	}
	addr := z.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	for attempt := 0; ; attempt++ {
		if pc, err = net.ListenPacket("udp", addr); err != nil {
			z.t.Fatalf("DNS server: %v", err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		if z.addr != "" || attempt == 20 {
			z.t.Fatalf("DNS server over TCP: %v", err)
		}
		// The UDP port's number is taken over TCP: pick another.
	}
	if z.addr == "" {
		z.addr = pc.LocalAddr().String() // never written again: resolvers read it
	}
	z.udp = &dns.Server{PacketConn: pc, Handler: z}
	z.tcp = &dns.Server{Listener: ln, Handler: z}
	for _, s := range []*dns.Server{z.udp, z.tcp} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		z.wg.Add(1)
		go func() {
			defer z.wg.Done()
			s.ActivateAndServe()
		}()
		<-started
	}
	z.running = true
}

// stop shuts the server down and waits for its goroutines. Queries then
// get "connection refused" (UDP and TCP alike on loopback).
func (z *zone) stop() {
	z.run.Lock()
	defer z.run.Unlock()
	if !z.running {
		return
	}
	z.udp.Shutdown()
	z.tcp.Shutdown()
	z.wg.Wait()
	z.running = false
}

// fault is how the server misbehaves, if it does.
type fault int

const (
	healthy  fault = iota
	servfail       // every query gets SERVFAIL
	silent         // no query gets an answer
)

// setFault makes the server misbehave (or behave again) from now on.
func (z *zone) setFault(f fault) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.fault = f
}

// set replaces the SRV records of name. Targets are "host" under domain.
func (z *zone) set(name string, recs ...*dns.SRV) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.srv[strings.ToLower(name)] = recs
}

// add appends one record to name.
func (z *zone) add(name string, rec *dns.SRV) {
	z.mu.Lock()
	defer z.mu.Unlock()
	key := strings.ToLower(name)
	z.srv[key] = append(z.srv[key], rec)
}

// remove drops the records of name whose target is target.
func (z *zone) remove(name, target string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	key := strings.ToLower(name)
	kept := z.srv[key][:0:0]
	for _, r := range z.srv[key] {
		if r.Target != target {
			kept = append(kept, r)
		}
	}
	z.srv[key] = kept
}

// srvRecord builds the record for host:port under name.
func srvRecord(name, host string, port, priority, weight uint16) *dns.SRV {
	return &dns.SRV{
		Hdr:      dns.RR_Header{Name: name, Rrtype: dns.TypeSRV, Class: dns.ClassINET},
		Priority: priority, Weight: weight, Port: port,
		Target: dns.Fqdn(host + "." + domain),
	}
}

// ServeDNS answers SRV queries from the records set, A queries under
// domain with 127.0.0.1, AAAA queries with no data, and anything else with
// NXDOMAIN. UDP answers larger than the client can take are truncated, so a
// client must ask again over TCP, as with any real server.
func (z *zone) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	z.mu.Lock()
	f := z.fault
	z.mu.Unlock()
	m := new(dns.Msg)
	m.SetReply(r)
	switch f {
	case servfail:
		m.Rcode = dns.RcodeServerFailure
		w.WriteMsg(m)
		return
	case silent:
		return
	}
	m.Authoritative = true
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	switch {
	case q.Qtype == dns.TypeSRV:
		z.mu.Lock()
		recs, ok := z.srv[name]
		for _, rec := range recs {
			rr := *rec
			rr.Hdr.Name, rr.Hdr.Ttl = q.Name, z.ttl
			m.Answer = append(m.Answer, &rr)
		}
		z.mu.Unlock()
		if !ok {
			m.Rcode = dns.RcodeNameError
		}
	case q.Qtype == dns.TypeA && strings.HasSuffix(name, "."+domain):
		m.Answer = append(m.Answer, &dns.A{
			Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: z.ttl},
			A:   net.IPv4(127, 0, 0, 1),
		})
	case q.Qtype == dns.TypeAAAA && strings.HasSuffix(name, "."+domain):
		// No data: the names are IPv4 only.
	default:
		m.Rcode = dns.RcodeNameError
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
			m.SetEdns0(opt.UDPSize(), false)
		}
		m.Truncate(size)
	}
	w.WriteMsg(m)
}

// resolver returns a Go resolver that asks this zone whatever server the
// system configuration names: how a program points lbkit at its own DNS.
func (z *zone) resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, z.addr)
		},
	}
}
