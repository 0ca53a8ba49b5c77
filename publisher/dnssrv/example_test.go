package dnssrv_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/seed41aebe0c/lbkit/publisher/dnssrv"
)

// zone is a stand-in resolver with fixed records, so the example runs
// without a DNS server.
type zone map[string][]*net.SRV

func (z zone) LookupSRV(_ context.Context, _, _, name string) (string, []*net.SRV, error) {
	recs, ok := z[name]
	if !ok {
		return "", nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return name, recs, nil
}

func Example() {
	z := zone{"_api._tcp.example.com.": {
		{Target: "api-1.example.com.", Port: 8080, Priority: 10, Weight: 60},
		{Target: "api-2.example.com.", Port: 8080, Priority: 10, Weight: 40},
		{Target: "2001:db8::7", Port: 8443, Priority: 20, Weight: 1},
		{Target: "broken.example.com.", Port: 0}, // skipped, with a warning in the log
	}}
	p, err := dnssrv.New("_api._tcp.example.com.", 30*time.Second, dnssrv.WithResolver(z))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Stop()

	sub := p.Subscribe()
	ev := <-sub.C()
	for _, in := range ev.Instances {
		fmt.Println(in.Address, "priority", in.Priority, "weight", in.Weight)
	}
	// Output:
	// [2001:db8::7]:8443 priority 20 weight 1
	// api-1.example.com:8080 priority 10 weight 60
	// api-2.example.com:8080 priority 10 weight 40
}

// A *net.Resolver with PreferGo and its own Dial asks any DNS server, here
// one on 127.0.0.1:5353. To honour the records' TTL, use a Client instead
// (see ExampleClient).
func ExampleWithResolver() {
	r := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, "127.0.0.1:5353")
		},
	}
	p, err := dnssrv.New("_api._tcp.service.internal.", 5*time.Second, dnssrv.WithResolver(r))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Stop()
	_ = p.Subscribe() // hand p to loadbalancer.New instead
}

// A Client reports TTLs: the publisher then polls when the records expire,
// at most every 30 seconds and at least one second apart.
func ExampleClient() {
	c, err := dnssrv.NewClient("127.0.0.1:5353")
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := dnssrv.New("_api._tcp.service.internal.", 30*time.Second,
		dnssrv.WithResolver(c), dnssrv.WithTTL(time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Stop()
}

func ExampleDecode() {
	ins, skipped := dnssrv.Decode([]*net.SRV{
		{Target: "Web-1.Example.COM.", Port: 80, Weight: 5},
		{Target: "::1", Port: 80},
		{Target: "web-2.example.com.", Port: 0},
	})
	fmt.Println(ins[0].Address, ins[1].Address)
	fmt.Println(skipped[0])
	// Output:
	// web-1.example.com:80 [::1]:80
	// dnssrv: unusable SRV record: target "web-2.example.com.": port 0
}
