package dnssrv

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Client limits. A UDP answer larger than ClientUDPSize comes back
// truncated and is asked again over TCP.
const (
	// ClientUDPSize is the EDNS(0) UDP payload size the client advertises:
	// the size the DNS community recommends against IP fragmentation.
	ClientUDPSize = 1232
	// DefaultClientTimeout bounds one exchange when the context has no
	// deadline of its own.
	DefaultClientTimeout = 5 * time.Second
)

// Client is a minimal DNS client for SRV lookups against one server. Unlike
// *net.Resolver it reports the records' TTL (it implements TTLResolver), so a
// Publisher built WithTTL polls when the records expire.
//
// It asks over UDP with EDNS(0) and asks again over TCP when the answer is
// truncated. It does no caching, search lists or retries over several
// servers: a Publisher polls anyway, and a server behind a load balancer is
// one address. Errors are *net.DNSError values, as from *net.Resolver.
//
// A Client is safe for concurrent use.
type Client struct {
	server string
	dialer net.Dialer
}

var _ TTLResolver = (*Client)(nil)

// NewClient returns a client that asks server ("127.0.0.1:53",
// "[::1]:5353"). A server that is not host:port is an error wrapping
// ErrInvalidArgument.
func NewClient(server string) (*Client, error) {
	host, port, err := net.SplitHostPort(server)
	if err != nil || host == "" || port == "" {
		return nil, invalid("DNS server %q: must be host:port", server)
	}
	return &Client{server: server}, nil
}

// LookupSRV implements Resolver. Like *net.Resolver it builds
// "_service._proto.name" when service and proto are not empty; cname is the
// name the records were found under.
func (c *Client) LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error) {
	a, err := c.lookup(ctx, srvName(service, proto, name))
	if err != nil {
		return "", nil, err
	}
	return a.cname, a.records, nil
}

// LookupSRVTTL implements TTLResolver: the records and the smallest TTL
// among them.
func (c *Client) LookupSRVTTL(ctx context.Context, service, proto, name string) ([]*net.SRV, time.Duration, error) {
	a, err := c.lookup(ctx, srvName(service, proto, name))
	if err != nil {
		return nil, 0, err
	}
	return a.records, a.ttl, nil
}

func srvName(service, proto, name string) string {
	if service == "" && proto == "" {
		return name
	}
	return "_" + service + "._" + proto + "." + name
}

type answer struct {
	cname   string
	records []*net.SRV
	ttl     time.Duration
}

func (c *Client) lookup(ctx context.Context, name string) (*answer, error) {
	fqdn := name
	if !strings.HasSuffix(fqdn, ".") {
		fqdn += "."
	}
	qname, err := dnsmessage.NewName(fqdn)
	if err != nil {
		return nil, c.dnsError(name, err.Error(), false, false)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultClientTimeout)
		defer cancel()
	}
	id := uint16(rand.Uint32())
	query, err := buildQuery(id, qname)
	if err != nil {
		return nil, c.dnsError(name, err.Error(), false, false)
	}
	resp, err := c.exchangeUDP(ctx, id, query)
	if err == nil && truncated(resp) {
		resp, err = c.exchangeTCP(ctx, id, query)
	}
	if err != nil {
		return nil, c.netError(name, err)
	}
	return c.parse(name, qname, id, resp)
}

func buildQuery(id uint16, qname dnsmessage.Name) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{ID: id, RecursionDesired: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(dnsmessage.Question{Name: qname, Type: dnsmessage.TypeSRV, Class: dnsmessage.ClassINET}); err != nil {
		return nil, err
	}
	if err := b.StartAdditionals(); err != nil {
		return nil, err
	}
	var opt dnsmessage.ResourceHeader
	if err := opt.SetEDNS0(ClientUDPSize, dnsmessage.RCodeSuccess, false); err != nil {
		return nil, err
	}
	if err := b.OPTResource(opt, dnsmessage.OPTResource{}); err != nil {
		return nil, err
	}
	return b.Finish()
}

func truncated(resp []byte) bool {
	var p dnsmessage.Parser
	h, err := p.Start(resp)
	return err == nil && h.Truncated
}

func (c *Client) exchangeUDP(ctx context.Context, id uint16, query []byte) ([]byte, error) {
	conn, err := c.dialer.DialContext(ctx, "udp", c.server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	if _, err := conn.Write(query); err != nil {
		return nil, err
	}
	buf := make([]byte, 65535)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, ctxError(ctx, err)
		}
		// A stray datagram (a late answer to someone else's query on a
		// reused port) is not ours: keep reading until ours or the deadline.
		if n >= 2 && binary.BigEndian.Uint16(buf) == id {
			return buf[:n], nil
		}
	}
}

func (c *Client) exchangeTCP(ctx context.Context, id uint16, query []byte) ([]byte, error) {
	conn, err := c.dialer.DialContext(ctx, "tcp", c.server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	msg := make([]byte, 2+len(query))
	binary.BigEndian.PutUint16(msg, uint16(len(query)))
	copy(msg[2:], query)
	if _, err := conn.Write(msg); err != nil {
		return nil, ctxError(ctx, err)
	}
	var lenBuf [2]byte
	if _, err := io.ReadFull(conn, lenBuf[:]); err != nil {
		return nil, ctxError(ctx, err)
	}
	resp := make([]byte, binary.BigEndian.Uint16(lenBuf[:]))
	if _, err := io.ReadFull(conn, resp); err != nil {
		return nil, ctxError(ctx, err)
	}
	if len(resp) < 2 || binary.BigEndian.Uint16(resp) != id {
		return nil, errors.New("answer for another query")
	}
	return resp, nil
}

// ctxError returns the context's error for an I/O error caused by the
// context ending (the connection deadline is the context's deadline, and it
// can fire a moment before the context's own timer), else err.
func ctxError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return err
}

// parse reads the SRV records of an answer, following CNAMEs within it.
func (c *Client) parse(name string, qname dnsmessage.Name, id uint16, resp []byte) (*answer, error) {
	var p dnsmessage.Parser
	h, err := p.Start(resp)
	if err != nil {
		return nil, c.dnsError(name, "cannot parse DNS answer: "+err.Error(), false, false)
	}
	if !h.Response || h.ID != id {
		return nil, c.dnsError(name, "DNS answer for another query", false, false)
	}
	switch h.RCode {
	case dnsmessage.RCodeSuccess:
	case dnsmessage.RCodeNameError:
		return nil, c.dnsError(name, "no such host", true, false)
	case dnsmessage.RCodeServerFailure:
		return nil, c.dnsError(name, "server misbehaving", false, true)
	default:
		return nil, c.dnsError(name, "DNS answer code "+h.RCode.String(), false, false)
	}
	if err := p.SkipAllQuestions(); err != nil {
		return nil, c.dnsError(name, "cannot parse DNS answer: "+err.Error(), false, false)
	}
	owners := map[string]bool{strings.ToLower(qname.String()): true}
	a := &answer{cname: qname.String()}
	ttl := ^uint32(0)
	for {
		rh, err := p.AnswerHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		}
		if err != nil {
			return nil, c.dnsError(name, "cannot parse DNS answer: "+err.Error(), false, false)
		}
		owner := strings.ToLower(rh.Name.String())
		switch {
		case rh.Class != dnsmessage.ClassINET || !owners[owner]:
			err = p.SkipAnswer()
		case rh.Type == dnsmessage.TypeCNAME:
			var r dnsmessage.CNAMEResource
			if r, err = p.CNAMEResource(); err == nil {
				owners[strings.ToLower(r.CNAME.String())] = true
				a.cname = r.CNAME.String()
			}
		case rh.Type == dnsmessage.TypeSRV:
			var r dnsmessage.SRVResource
			if r, err = p.SRVResource(); err == nil {
				a.records = append(a.records, &net.SRV{Target: r.Target.String(), Port: r.Port, Priority: r.Priority, Weight: r.Weight})
				ttl = min(ttl, rh.TTL)
			}
		default:
			err = p.SkipAnswer()
		}
		if err != nil {
			return nil, c.dnsError(name, "cannot parse DNS answer: "+err.Error(), false, false)
		}
	}
	if len(a.records) == 0 {
		return nil, c.dnsError(name, "no such host", true, false)
	}
	a.ttl = time.Duration(ttl) * time.Second
	return a, nil
}

func (c *Client) dnsError(name, msg string, notFound, temporary bool) error {
	return &net.DNSError{Err: msg, Name: name, Server: c.server, IsNotFound: notFound, IsTemporary: temporary}
}

func (c *Client) netError(name string, err error) error {
	de := &net.DNSError{Err: err.Error(), Name: name, Server: c.server, UnwrapErr: err}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		de.IsTimeout, de.IsTemporary = true, true
	}
	return de
}
