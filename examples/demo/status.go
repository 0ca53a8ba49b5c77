package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/statuspage"
	"github.com/seed41aebe0c/lbkit/subset"
)

// currentBalancer shows, on the status page, whichever balancer the demo is
// driving at the moment.
type currentBalancer struct {
	b atomic.Pointer[loadbalancer.Balancer]
}

func (c *currentBalancer) set(b *loadbalancer.Balancer) { c.b.Store(b) }

func (c *currentBalancer) Status() loadbalancer.Status {
	if b := c.b.Load(); b != nil {
		return b.Status()
	}
	return loadbalancer.Status{Strategy: "starting"}
}

// serveStatus serves the live status page on addr and prints its URL; sub,
// if not nil, is the subset the balancers are built on (-subset).
func serveStatus(out io.Writer, addr string, current *currentBalancer, sub *subset.Publisher) (stop func(), err error) {
	opts := []statuspage.Option{statuspage.WithTitle("lbkit demo"), statuspage.WithBalancer("demo", current)}
	if sub != nil {
		opts = append(opts, statuspage.WithSubset("demo", sub))
	}
	page, err := statuspage.New(opts...)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: page, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(out, "status page: http://%s/\n", ln.Addr())
	return func() { srv.Close(); page.Close() }, nil
}
