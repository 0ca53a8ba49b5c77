package statuspage_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/statuspage"
	"github.com/seed41aebe0c/lbkit/strategy"
	"github.com/seed41aebe0c/lbkit/subset"
)

func Example() {
	p, _ := static.NewAddresses("127.0.0.1:8080")
	defer p.Stop()
	factory := func(string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) { return "ok", nil }, nil, nil
	}
	b, _ := loadbalancer.New(p, factory, loadbalancer.WithStrategy(strategy.RoundRobin{}))
	defer b.Close()

	page, _ := statuspage.New(statuspage.WithBalancer("users", b))
	defer page.Close()
	// In a service: http.Handle("/lb/", http.StripPrefix("/lb", page))
	srv := httptest.NewServer(page)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/status.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	fmt.Println(page.Snapshot().Balancers[0].Hosts[0].Address)
	// Output:
	// 200 OK application/json
	// 127.0.0.1:8080
}

// The page keeps a history of its own from New on: here its first sample,
// taken by New.
func ExamplePage_History() {
	p, _ := static.NewAddresses("127.0.0.1:8080", "127.0.0.1:8081")
	defer p.Stop()
	factory := func(string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) { return "ok", nil }, nil, nil
	}
	b, _ := loadbalancer.New(p, factory)
	defer b.Close()
	page, _ := statuspage.New(statuspage.WithBalancer("users", b))
	defer page.Close() // stops the sampler

	h := page.History(time.Time{})
	fmt.Println(len(h.Times) >= 1, h.ResolutionMs, h.WindowMs/60000, "min")
	for _, host := range h.Balancers[0].Hosts {
		fmt.Println(host.Address, host.Present, host.Series["score"][0])
	}
	// Output:
	// true 1000 15 min
	// 127.0.0.1:8080 true 1
	// 127.0.0.1:8081 true 1
}

// A balancer over a deterministic subset: the page shows the client's
// coordinate and the subset's churn beside its hosts.
func ExampleWithSubset() {
	backends, _ := static.NewAddresses("127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082",
		"127.0.0.1:8083", "127.0.0.1:8084", "127.0.0.1:8085")
	defer backends.Stop()
	sub, _ := subset.New(backends, 2, subset.Fixed(1, 3)) // client 1 of 3, two backends each
	defer sub.Stop()
	factory := func(string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) { return "ok", nil }, nil, nil
	}
	b, _ := loadbalancer.New(sub, factory)
	defer b.Close()

	page, _ := statuspage.New(statuspage.WithBalancer("users", b), statuspage.WithSubset("users", sub))
	defer page.Close()
	s := page.Snapshot().Balancers[0].Subset
	fmt.Printf("client %d of %d uses %d of %d backends, %d changes\n", s.Rank, s.Count, s.Used, s.Backends, s.Changes)
	// Output:
	// client 1 of 3 uses 2 of 6 backends, 0 changes
}
