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
