package dnssrv

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/seed41aebe0c/lbkit/publisher"
)

// dnsServer is a real DNS server on 127.0.0.1 (UDP and TCP on one port)
// whose answers come from a function, for testing Client's wire handling.
type dnsServer struct {
	addr    string
	udp     net.PacketConn
	tcp     net.Listener
	answer  func(q dnsmessage.Question, tcp bool) (hdr dnsmessage.Header, answers []dnsmessage.Resource, raw []byte)
	tcpSeen atomic.Int32
	wg      sync.WaitGroup
}

func startDNSServer(t *testing.T, answer func(q dnsmessage.Question, tcp bool) (dnsmessage.Header, []dnsmessage.Resource, []byte)) *dnsServer {
	t.Helper()
	s := &dnsServer{answer: answer}
	for attempt := 0; ; attempt++ {
		udp, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		tcp, err := net.Listen("tcp", udp.LocalAddr().String())
		if err != nil {
			udp.Close()
			if attempt < 20 {
				continue // that port is taken over TCP: try another
			}
			t.Fatal(err)
		}
		s.udp, s.tcp, s.addr = udp, tcp, udp.LocalAddr().String()
		break
	}
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	t.Cleanup(func() {
		s.udp.Close()
		s.tcp.Close()
		s.wg.Wait()
	})
	return s
}

func (s *dnsServer) reply(query []byte, tcp bool) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	hdr, answers, raw := s.answer(q, tcp)
	if raw != nil {
		if len(raw) >= 2 {
			binary.BigEndian.PutUint16(raw, h.ID)
		}
		return raw
	}
	if hdr.ID == 0 {
		hdr.ID = h.ID
	}
	hdr.Response = true
	msg := dnsmessage.Message{Header: hdr, Questions: []dnsmessage.Question{q}, Answers: answers}
	out, err := msg.Pack()
	if err != nil {
		panic(err)
	}
	return out
}

func (s *dnsServer) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := s.udp.ReadFrom(buf)
		if err != nil {
			return
		}
		if out := s.reply(buf[:n], false); len(out) > 0 {
			s.udp.WriteTo(out, from)
		}
	}
}

func (s *dnsServer) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.tcpSeen.Add(1)
		var lb [2]byte
		if _, err := io.ReadFull(c, lb[:]); err == nil {
			q := make([]byte, binary.BigEndian.Uint16(lb[:]))
			if _, err := io.ReadFull(c, q); err == nil {
				out := s.reply(q, true)
				msg := binary.BigEndian.AppendUint16(nil, uint16(len(out)))
				c.Write(append(msg, out...))
			}
		}
		c.Close()
	}
}

func srvRR(owner, target string, port uint16, ttl uint32) dnsmessage.Resource {
	return dnsmessage.Resource{
		Header: dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(owner), Type: dnsmessage.TypeSRV, Class: dnsmessage.ClassINET, TTL: ttl},
		Body:   &dnsmessage.SRVResource{Priority: 1, Weight: 2, Port: port, Target: dnsmessage.MustNewName(target)},
	}
}

func TestNewClientRejectsBadServer(t *testing.T) {
	for _, s := range []string{"", "127.0.0.1", ":53", "127.0.0.1:"} {
		if _, err := NewClient(s); !errors.Is(err, ErrInvalidArgument) || !errors.Is(err, publisher.ErrInvalidArgument) {
			t.Errorf("NewClient(%q) error = %v, want ErrInvalidArgument", s, err)
		}
	}
}

func TestClientAnswersWithSmallestTTL(t *testing.T) {
	s := startDNSServer(t, func(q dnsmessage.Question, _ bool) (dnsmessage.Header, []dnsmessage.Resource, []byte) {
		if q.Type != dnsmessage.TypeSRV || q.Name.String() != "_http._tcp.example." {
			return dnsmessage.Header{RCode: dnsmessage.RCodeNameError}, nil, nil
		}
		return dnsmessage.Header{}, []dnsmessage.Resource{
			srvRR("_http._tcp.example.", "a.example.", 80, 30),
			srvRR("_http._tcp.example.", "b.example.", 81, 7),
			srvRR("other.example.", "c.example.", 82, 1), // not for our name
		}, nil
	})
	c, err := NewClient(s.addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recs, ttl, err := c.LookupSRVTTL(ctx, "http", "tcp", "example")
	if err != nil {
		t.Fatal(err)
	}
	if ttl != 7*time.Second || len(recs) != 2 || recs[0].Target != "a.example." || recs[1].Port != 81 || recs[1].Weight != 2 || recs[1].Priority != 1 {
		t.Fatalf("got %v ttl %v", recs, ttl)
	}
	cname, recs2, err := c.LookupSRV(ctx, "", "", "_http._tcp.example")
	if err != nil || cname != "_http._tcp.example." || len(recs2) != 2 {
		t.Fatalf("LookupSRV = %q %v %v", cname, recs2, err)
	}
}

func TestClientFollowsCNAME(t *testing.T) {
	s := startDNSServer(t, func(q dnsmessage.Question, _ bool) (dnsmessage.Header, []dnsmessage.Resource, []byte) {
		return dnsmessage.Header{}, []dnsmessage.Resource{
			{
				Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeCNAME, Class: dnsmessage.ClassINET, TTL: 60},
				Body:   &dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName("real.example.")},
			},
			srvRR("REAL.example.", "a.example.", 80, 5),
		}, nil
	})
	c, _ := NewClient(s.addr)
	cname, recs, err := c.LookupSRV(context.Background(), "", "", "alias.example.")
	if err != nil || cname != "real.example." || len(recs) != 1 {
		t.Fatalf("LookupSRV = %q %v %v", cname, recs, err)
	}
}

func TestClientTruncatedAnswerRetriesOverTCP(t *testing.T) {
	s := startDNSServer(t, func(q dnsmessage.Question, tcp bool) (dnsmessage.Header, []dnsmessage.Resource, []byte) {
		if !tcp {
			return dnsmessage.Header{Truncated: true}, nil, nil
		}
		var rrs []dnsmessage.Resource
		for i := range 100 { // about 4 KiB: more than fits in ClientUDPSize
			rrs = append(rrs, srvRR(q.Name.String(), "host-"+strconv.Itoa(i)+".example.", uint16(1000+i), 60))
		}
		return dnsmessage.Header{}, rrs, nil
	})
	c, _ := NewClient(s.addr)
	recs, _, err := c.LookupSRVTTL(context.Background(), "", "", "_big._tcp.example.")
	if err != nil || len(recs) != 100 {
		t.Fatalf("got %d records, err %v", len(recs), err)
	}
	if s.tcpSeen.Load() == 0 {
		t.Fatal("the truncated answer was not asked again over TCP")
	}
}

func TestClientErrors(t *testing.T) {
	var mode atomic.Value
	s := startDNSServer(t, func(q dnsmessage.Question, _ bool) (dnsmessage.Header, []dnsmessage.Resource, []byte) {
		switch mode.Load().(string) {
		case "nxdomain":
			return dnsmessage.Header{RCode: dnsmessage.RCodeNameError}, nil, nil
		case "servfail":
			return dnsmessage.Header{RCode: dnsmessage.RCodeServerFailure}, nil, nil
		case "refused":
			return dnsmessage.Header{RCode: dnsmessage.RCodeRefused}, nil, nil
		case "nodata":
			return dnsmessage.Header{}, nil, nil
		case "garbage":
			return dnsmessage.Header{}, nil, []byte{0, 0, 0x80}
		case "wrong id":
			// An answer with another ID is ignored: the client waits for its
			// own until the deadline.
			return dnsmessage.Header{ID: 1}, []dnsmessage.Resource{srvRR(q.Name.String(), "a.example.", 1, 1)}, nil
		default: // silent
			return dnsmessage.Header{}, nil, []byte{}
		}
	})
	c, _ := NewClient(s.addr)
	check := func(m string, want func(*net.DNSError) bool) {
		t.Helper()
		mode.Store(m)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, recs, err := c.LookupSRV(ctx, "", "", "_s._tcp.example.")
		var de *net.DNSError
		if !errors.As(err, &de) || !want(de) || recs != nil {
			t.Errorf("%s: got %v %v (%#v)", m, recs, err, de)
		}
		if de != nil && de.Server != s.addr {
			t.Errorf("%s: error names server %q, want %q", m, de.Server, s.addr)
		}
	}
	check("nxdomain", func(e *net.DNSError) bool { return e.IsNotFound })
	check("nodata", func(e *net.DNSError) bool { return e.IsNotFound })
	check("servfail", func(e *net.DNSError) bool { return e.IsTemporary && !e.IsNotFound })
	check("refused", func(e *net.DNSError) bool { return !e.IsNotFound && !e.IsTimeout })
	check("garbage", func(e *net.DNSError) bool { return !e.IsNotFound && !e.IsTimeout })
	check("silent", func(e *net.DNSError) bool { return e.IsTimeout && errors.Is(e, context.DeadlineExceeded) })
	check("wrong id", func(e *net.DNSError) bool { return e.IsTimeout })

	// A cancelled context ends the exchange at once, as context.Canceled.
	mode.Store("silent")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, _, err := c.LookupSRV(ctx, "", "", "_s._tcp.example.")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled lookup: %v, want context.Canceled", err)
	}
	if _, _, err := c.LookupSRV(context.Background(), "", "", "bad..name"); err == nil {
		t.Error("a malformed name was sent")
	}
}

func TestClientDrivesPublisherByTTL(t *testing.T) {
	var port atomic.Int32
	port.Store(8000)
	s := startDNSServer(t, func(q dnsmessage.Question, _ bool) (dnsmessage.Header, []dnsmessage.Resource, []byte) {
		return dnsmessage.Header{}, []dnsmessage.Resource{srvRR(q.Name.String(), "a.example.", uint16(port.Load()), 0)}, nil
	})
	c, _ := NewClient(s.addr)
	p, err := New("_s._tcp.example.", time.Hour, WithResolver(c), WithTTL(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	sub := p.Subscribe()
	waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "a.example:8000" })
	port.Store(8001)
	// The interval is an hour: only the zero TTL can bring the change in.
	waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "a.example:8001" })
}
