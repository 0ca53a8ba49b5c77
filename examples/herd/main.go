// Command herd runs a bounded batch of requests through a herd of workers,
// each request going through one retrying, load-balanced endpoint: three
// HTTP backends on 127.0.0.1 (one of which fails every other request),
// a static publisher, a round-robin balancer with a per-host concurrency
// limit, and retry.Retry on top. Half-way through, the herd is resized over
// HTTP with the herd's own control handler. It prints a summary and exits.
//
//	go run ./examples/herd [-requests 300] [-size 4]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/herd"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/strategy"
)

func main() {
	requests := flag.Int("requests", 300, "number of requests in the batch")
	size := flag.Int("size", 4, "herd size to start with (doubled half-way)")
	flag.Parse()
	if err := run(*requests, *size); err != nil {
		fmt.Fprintln(os.Stderr, "herd:", err)
		os.Exit(1)
	}
}

// backend is an HTTP server on 127.0.0.1 that answers with its name,
// except that a flaky one fails every other request with 503.
type backend struct {
	name           string
	flaky          bool
	served, failed atomic.Int64
	srv            *httptest.Server
}

func startBackend(name string, flaky bool) *backend {
	b := &backend{name: name, flaky: flaky}
	var n atomic.Int64
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond) // some work, so that requests overlap
		if b.flaky && n.Add(1)%2 == 0 {
			b.failed.Add(1)
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		b.served.Add(1)
		fmt.Fprintf(w, "%s: %s", b.name, r.URL.Query().Get("item"))
	}))
	return b
}

// factory makes a plain net/http endpoint for one backend address.
func factory(client *http.Client) func(string) (endpoint.Endpoint, io.Closer, error) {
	return func(addr string) (endpoint.Endpoint, io.Closer, error) {
		return func(ctx context.Context, req any) (any, error) {
			r, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/?item="+req.(string), nil)
			if err != nil {
				return nil, err
			}
			resp, err := client.Do(r)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return nil, err
			}
			if resp.StatusCode != http.StatusOK {
				return nil, fmt.Errorf("%s: %s", addr, resp.Status)
			}
			return string(body), nil
		}, nil, nil
	}
}

func run(requests, size int) error {
	if requests < 1 || size < 1 {
		return errors.New("-requests and -size must be at least 1")
	}
	backends := []*backend{startBackend("alpha", false), startBackend("beta", false), startBackend("gamma (flaky)", true)}
	names := map[string]string{}
	var addrs []string
	for _, b := range backends {
		defer b.srv.Close()
		addr := strings.TrimPrefix(b.srv.URL, "http://")
		addrs = append(addrs, addr)
		names[addr] = b.name
	}

	// Discovery → balancer (round-robin, at most 8 calls per host) →
	// retry (3 attempts, each on a host not tried yet, within 2 s).
	pub, err := static.NewAddresses(addrs...)
	if err != nil {
		return err
	}
	defer pub.Stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()
	bal, err := loadbalancer.New(pub, factory(client), loadbalancer.WithStrategy(strategy.RoundRobin{}), loadbalancer.WithHostConcurrency(8, 50*time.Millisecond))
	if err != nil {
		return err
	}
	defer bal.Close()
	call := retry.Retry(3, 2*time.Second, bal)

	// The herd: each item is one request through the retrying endpoint.
	// Should even three attempts fail, the herd tries the item again.
	var herdRetries atomic.Int64
	h, err := herd.New(func(ctx context.Context, w *herd.Work[int, string]) herd.Status {
		resp, err := call(ctx, fmt.Sprint(w.Body))
		if err != nil {
			w.Err = err
			return herd.Retry
		}
		w.Result = resp.(string)
		return herd.Success
	},
		herd.WithSize(size),
		herd.WithMaxRetries(2),
		herd.WithLogger(log.NewLogfmtLogger(os.Stderr)),
		herd.OnRetry(func(*herd.Work[int, string]) { herdRetries.Add(1) }),
	)
	if err != nil {
		return err
	}
	defer h.Close()

	// The herd's size control, over HTTP on 127.0.0.1.
	control := httptest.NewServer(h.Handler())
	defer control.Close()

	start := time.Now()
	sendErr := make(chan error, 1)
	var resized sync.WaitGroup
	resized.Add(1)
	go func() {
		defer h.CloseInput()
		for i := range requests {
			if i == requests/2 {
				go func() {
					defer resized.Done()
					resize(control.URL, 2*size)
				}()
			}
			if err := h.Send(context.Background(), herd.Work[int, string]{ID: fmt.Sprint("req-", i), Body: i}); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- nil
	}()

	var ok, failed int
	var lastErr error
	for w := range h.Output() {
		if w.Status() == herd.Success {
			ok++
		} else {
			failed++
			lastErr = w.Err
		}
	}
	resized.Wait()
	if err := <-sendErr; err != nil {
		return err
	}
	elapsed := time.Since(start)

	st := h.Stats()
	fmt.Printf("%d requests in %v: %d succeeded, %d failed; herd size %d at the end, %d herd-level retries\n",
		requests, elapsed.Round(time.Millisecond), ok, failed, st.Size, herdRetries.Load())
	if lastErr != nil {
		fmt.Println("last failure:", lastErr)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "backend\tserved\trefused (503)\tbalancer: requests\tfailures")
	for _, hs := range bal.Status().Hosts {
		for _, b := range backends {
			if b.name == names[hs.Address] {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", b.name, b.served.Load(), b.failed.Load(), hs.Requests, hs.Failures)
			}
		}
	}
	return tw.Flush()
}

// resize asks the herd's control handler for a new size, as an operator
// would with curl -X PATCH -d '{"size": N}'.
func resize(url string, n int) {
	req, err := http.NewRequest(http.MethodPatch, url, strings.NewReader(fmt.Sprintf(`{"size": %d}`, n)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "resize:", err)
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "resize:", err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("PATCH /herd {\"size\": %d} → %s %s", n, resp.Status, body)
}
