package pooling_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/pooling"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// exampleServers starts n line-echo servers on 127.0.0.1 and returns their
// addresses and a function that stops them.
func exampleServers(n int) ([]string, func()) {
	var addrs []string
	var lns []net.Listener
	var wg sync.WaitGroup
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Go(func() {
					defer c.Close()
					io.Copy(c, c)
				})
			}
		})
	}
	return addrs, func() {
		for _, ln := range lns {
			ln.Close()
		}
		wg.Wait()
	}
}

// roundTrip writes a line over c and reads the echo.
func roundTrip(c net.Conn, line string) (string, error) {
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	reply, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSuffix(reply, "\n"), err
}

// A service spreads connections over its hosts; Release reports how each
// use went, which the host's score (and so the strategy) learns from.
func ExampleService() {
	addrs, stop := exampleServers(2)
	defer stop()

	driver, err := pooling.NewNetDriver("tcp")
	if err != nil {
		panic(err)
	}
	svc, err := pooling.NewService[net.Conn]("echo", driver)
	if err != nil {
		panic(err)
	}
	defer svc.Close()
	for _, a := range addrs {
		svc.Add(a)
	}

	ask := func(ctx context.Context, msg string) (reply string, err error) {
		c, err := svc.GetConn(ctx)
		if err != nil {
			return "", err
		}
		defer func() { c.Release(err, strategy.HostUp) }()
		return roundTrip(c.Value(), msg)
	}
	for _, msg := range []string{"ping", "pong"} {
		reply, err := ask(context.Background(), msg)
		fmt.Println(reply, err)
	}
	for _, h := range svc.Status().Hosts {
		fmt.Println(h.Requests, h.Score)
	}
	// Output:
	// ping <nil>
	// pong <nil>
	// 1 1
	// 1 1
}

// A pool lends connections to one host and takes them back.
func ExamplePool() {
	addrs, stop := exampleServers(1)
	defer stop()

	driver, err := pooling.NewNetDriver("tcp")
	if err != nil {
		panic(err)
	}
	pool, err := pooling.NewPool[net.Conn](addrs[0], driver, pooling.WithMaxConns(4), pooling.WithPrespawn(0))
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	for range 3 {
		c, err := pool.Get(context.Background())
		if err != nil {
			panic(err)
		}
		reply, err := roundTrip(c.Value(), "hello")
		pool.Put(c, err) // a fatal err closes the connection instead
		fmt.Println(reply)
	}
	st := pool.Stats()
	fmt.Println("dialled", st.Dialled, "lent", st.Gets, "idle", st.Idle)
	// Output:
	// hello
	// hello
	// hello
	// dialled 1 lent 3 idle 1
}

// Factory puts a pool under every endpoint of a load balancer: the call
// writes one request over a borrowed connection.
func ExampleFactory() {
	addrs, stop := exampleServers(2)
	defer stop()

	driver, err := pooling.NewNetDriver("tcp")
	if err != nil {
		panic(err)
	}
	echo := func(_ context.Context, c net.Conn, req any) (any, error) {
		return roundTrip(c, req.(string))
	}
	factory, err := pooling.Factory[net.Conn](driver, echo, pooling.WithMaxConns(8))
	if err != nil {
		panic(err)
	}
	pub, err := static.NewAddresses(addrs...)
	if err != nil {
		panic(err)
	}
	defer pub.Stop()
	lb, err := loadbalancer.New(pub, factory, loadbalancer.WithStrategy(strategy.RoundRobin{}))
	if err != nil {
		panic(err)
	}
	defer lb.Close() // closes every endpoint's pool

	ep, err := lb.Endpoint()
	if err != nil {
		panic(err)
	}
	resp, err := ep(context.Background(), "over a pooled connection")
	fmt.Println(resp, err)
	// Output: over a pooled connection <nil>
}

// NewHTTPTransport makes an HTTP client whose connections come from a
// service: the host in the URL is only a name.
func ExampleNewHTTPTransport() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "hello from a pooled host")
	}))
	defer srv.Close()

	driver, err := pooling.NewNetDriver("tcp")
	if err != nil {
		panic(err)
	}
	svc, err := pooling.NewService[net.Conn]("web", driver)
	if err != nil {
		panic(err)
	}
	defer svc.Close()
	svc.Add(srv.Listener.Addr().String())

	tr := pooling.NewHTTPTransport(svc)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	resp, err := client.Get("http://web/")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
	// Output: hello from a pooled host
}

// DriverFuncs pools any connection type; here a toy one.
func ExampleDriverFuncs() {
	type session struct{ id int }
	var next int
	var mu sync.Mutex
	driver := pooling.DriverFuncs[*session]{
		DialFunc: func(ctx context.Context, addr string) (*session, error) {
			mu.Lock()
			defer mu.Unlock()
			next++
			return &session{id: next}, nil
		},
	}
	pool, err := pooling.NewPool[*session]("db-1", driver, pooling.WithPrespawn(0))
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	c, _ := pool.Get(context.Background())
	fmt.Println("session", c.Value().id)
	pool.Put(c, nil)
	c, _ = pool.Get(context.Background())
	fmt.Println("session", c.Value().id, "again")
	pool.Put(c, nil)
	// Output:
	// session 1
	// session 1 again
}

// ExampleHTTPFactory puts a pool under the go-kit HTTP client of every
// instance: the endpoint is go-kit's httptransport.NewClient over the
// *http.Client HTTPFactory hands it, whose connections come from the
// instance's pool. Removing the instance closes them at once.
func ExampleHTTPFactory() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello over a pooled connection")
	}))
	defer srv.Close()

	driver, err := pooling.NewNetDriver("tcp") // no read timeout: see NewHTTPTransport
	if err != nil {
		panic(err)
	}
	factory, err := pooling.HTTPFactory(driver, func(instance string, client *http.Client) (endpoint.Endpoint, error) {
		u, err := url.Parse("http://" + instance + "/")
		if err != nil {
			return nil, err
		}
		return httptransport.NewClient(http.MethodGet, u,
			func(context.Context, *http.Request, any) error { return nil },
			func(_ context.Context, r *http.Response) (any, error) {
				b, err := io.ReadAll(r.Body)
				return string(b), err
			},
			httptransport.SetClient(client),
		).Endpoint(), nil
	}, pooling.WithMaxConns(8))
	if err != nil {
		panic(err)
	}
	pub, err := static.NewAddresses(srv.Listener.Addr().String())
	if err != nil {
		panic(err)
	}
	defer pub.Stop()
	lb, err := loadbalancer.New(pub, factory)
	if err != nil {
		panic(err)
	}
	defer lb.Close() // closes every instance's pool and transport

	ep, err := lb.Endpoint()
	if err != nil {
		panic(err)
	}
	resp, err := ep(context.Background(), nil)
	fmt.Println(resp, err)
	// Output: hello over a pooled connection <nil>
}
