// Command demo is lbkit's main job in one program: it starts a few HTTP
// backends on 127.0.0.1 (two healthy, one that fails half its requests, one
// ten times slower), reaches them through go-kit HTTP client endpoints made
// by a factory, and drives a bounded number of requests through
// publisher → balancer → retry for every strategy, printing what each
// strategy did: success before and after retry, latency, and how the traffic
// was spread over the backends.
//
//	go run ./examples/demo
//
// It needs no server installed and finishes in well under a minute.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/strategy"
)

func main() {
	var (
		requests    = flag.Int("requests", 2000, "requests per strategy")
		concurrency = flag.Int("concurrency", 16, "concurrent callers")
		attempts    = flag.Int("attempts", 3, "attempts per request, as in retry.Retry(attempts, ...)")
		timeout     = flag.Duration("timeout", 2*time.Second, "overall timeout per request")
		only        = flag.String("strategy", "", "run only the strategies whose name contains this")
		httpAddr    = flag.String("http", "", "serve the live status page on this address while running (e.g. 127.0.0.1:8080)")
		hold        = flag.Duration("hold", 0, "with -http, keep serving the page this long after the run")
		svgPath     = flag.String("svg", "demo.svg", "write the comparison chart here (empty: none)")
		disc        = flag.String("discovery", "static", "how the balancer finds the backends: static, dns, consul or etcd")
		dnsAddr     = flag.String("dns", "127.0.0.1:0", "with -discovery dns: where the demo's own DNS server listens")
		consulAddr  = flag.String("consul", "127.0.0.1:8500", "with -discovery consul: the Consul agent's HTTP address")
		etcdAddr    = flag.String("etcd", "127.0.0.1:2379", "with -discovery etcd: the etcd client address")
		eject       = flag.Bool("eject", false, "turn on outlier ejection and slow start (strategy.WithOutlierEjection, WithSlowStart) under every strategy")
		subsetSize  = flag.Int("subset", 0, "balance over a deterministic subset of this many backends, as client 0 of 3 (package subset; 0: all backends)")
	)
	flag.Parse()
	if *requests < 1 || *concurrency < 1 || *attempts < 1 || *timeout <= 0 || *subsetSize < 0 {
		fmt.Fprintln(os.Stderr, "demo: -requests, -concurrency, -attempts and -timeout must be positive, -subset not negative")
		os.Exit(2)
	}
	if err := run(os.Stdout, os.Stderr, config{
		requests: *requests, concurrency: *concurrency, attempts: *attempts,
		timeout: *timeout, only: *only, httpAddr: *httpAddr, hold: *hold, svgPath: *svgPath,
		discovery: *disc, dnsAddr: *dnsAddr, consulAddr: *consulAddr, etcdAddr: *etcdAddr, eject: *eject,
		subset: *subsetSize,
	}); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type config struct {
	requests, concurrency, attempts int
	timeout, hold                   time.Duration
	only, httpAddr, svgPath         string
	discovery, dnsAddr              string
	consulAddr, etcdAddr            string
	eject                           bool
	subset                          int // -subset: the subset size, 0 for none
}

// backendSpec describes one demo backend. The weights are what an operator
// who knows the machines might configure; only the weighted strategies read
// them.
type backendSpec struct {
	name     string
	latency  time.Duration
	failRate float64
	weight   int
}

var specs = []backendSpec{
	{name: "fast-1", latency: 2 * time.Millisecond, weight: 3},
	{name: "fast-2", latency: 2 * time.Millisecond, weight: 3},
	{name: "flaky", latency: 2 * time.Millisecond, failRate: 0.5, weight: 1},
	{name: "slow", latency: 20 * time.Millisecond, weight: 1},
}

// strategies lists every strategy the demo compares, in the order printed:
// the ones that ignore outcomes, then the ones that learn.
func strategies() []strategy.Strategy {
	return []strategy.Strategy{
		strategy.RoundRobin{},
		strategy.Random{},
		strategy.RoundRobin{Weighted: true},
		strategy.Random{Weighted: true},
		strategy.LeastInFlight{},
		strategy.LeastInFlight{Choices: 3},
		strategy.EpsilonGreedy{Epsilon: 0.1},
		strategy.Softmax{Temperature: 0.1},
		strategy.UCB1{},
		strategy.Thompson{},
		strategy.PeakEWMA{},
	}
}

func run(out, progress io.Writer, cfg config) error {
	bs, err := startBackends(specs)
	if err != nil {
		return err
	}
	defer bs.close()

	fmt.Fprintf(out, "lbkit demo: %d requests per strategy, %d concurrent callers, up to %d attempts each\n",
		cfg.requests, cfg.concurrency, cfg.attempts)
	if cfg.eject {
		fmt.Fprintln(out, "outlier ejection and slow start on (Envoy's defaults: 5 failures in a row eject a host for 30 s, at most 10% of hosts)")
	}
	fmt.Fprintln(out, "backends on 127.0.0.1:")
	for _, b := range bs.list {
		fmt.Fprintf(out, "  %-7s %s  latency %v, fails %.0f%%, weight %d\n",
			b.spec.name, b.addr, b.spec.latency, b.spec.failRate*100, b.spec.weight)
	}
	fmt.Fprintln(out)

	disc, err := startDiscovery(context.Background(), out, cfg, bs)
	if err != nil {
		return err
	}
	defer disc.stop()
	pub, sub, err := withSubset(out, disc.pub, cfg.subset)
	if err != nil {
		return err
	}
	if sub != nil {
		defer sub.Stop()
	}

	client := &http.Client{Transport: &http.Transport{
		// With DNS discovery the instances are names that only the demo's
		// DNS server knows, so dialling resolves through it too.
		DialContext:         (&net.Dialer{Resolver: disc.resolver, Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: cfg.concurrency * 2,
		IdleConnTimeout:     30 * time.Second,
	}}
	defer client.CloseIdleConnections()

	current := &currentBalancer{}
	if cfg.httpAddr != "" {
		stop, err := serveStatus(out, cfg.httpAddr, current, sub)
		if err != nil {
			return err
		}
		defer stop()
	}

	var results []result
	for _, s := range strategies() {
		if cfg.only != "" && !strings.Contains(s.Name(), cfg.only) {
			continue
		}
		r, err := drive(s, pub, bs, client, cfg, progress, current)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name(), err)
		}
		results = append(results, r)
	}
	printTable(out, bs, results)
	if cfg.svgPath != "" {
		if err := os.WriteFile(cfg.svgPath, chartSVG(bs, results), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "chart written to %s\n", cfg.svgPath)
	}
	if cfg.httpAddr != "" && cfg.hold > 0 {
		fmt.Fprintf(out, "serving the status page for %v more\n", cfg.hold)
		time.Sleep(cfg.hold)
	}
	return nil
}

// backend is one HTTP server on 127.0.0.1 with its own request counter, so
// that traffic shares are measured where the traffic lands.
type backend struct {
	spec   backendSpec
	addr   string
	served atomic.Int64
	srv    *http.Server
}

type backends struct {
	list   []*backend
	byAddr map[string]*backend
}

func startBackends(specs []backendSpec) (*backends, error) {
	bs := &backends{byAddr: map[string]*backend{}}
	for _, s := range specs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			bs.close()
			return nil, err
		}
		b := &backend{spec: s, addr: ln.Addr().String()}
		b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 5 * time.Second}
		go b.srv.Serve(ln)
		bs.list = append(bs.list, b)
		bs.byAddr[b.addr] = b
	}
	return bs, nil
}

func (bs *backends) close() {
	for _, b := range bs.list {
		b.srv.Close()
	}
}

func (bs *backends) reset() {
	for _, b := range bs.list {
		b.served.Store(0)
	}
}

// ServeHTTP waits the backend's latency (with ±25% jitter) and fails the
// configured share of requests with a 503.
func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.served.Add(1)
	d := time.Duration(float64(b.spec.latency) * (0.75 + rand.Float64()/2))
	select {
	case <-time.After(d):
	case <-r.Context().Done():
		return
	}
	if rand.Float64() < b.spec.failRate {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, b.spec.name)
}

// factory is a go-kit sd.Factory: it turns an instance address into a go-kit
// HTTP client endpoint. This is exactly the factory a go-kit user already has.
func factory(client *http.Client) func(string) (endpoint.Endpoint, io.Closer, error) {
	return func(instance string) (endpoint.Endpoint, io.Closer, error) {
		u, err := url.Parse("http://" + instance + "/")
		if err != nil {
			return nil, nil, err
		}
		c := httptransport.NewClient(http.MethodGet, u,
			func(context.Context, *http.Request, any) error { return nil },
			decodeResponse,
			httptransport.SetClient(client),
		)
		return c.Endpoint(), nil, nil
	}
}

var errBackend = errors.New("backend error")

func decodeResponse(_ context.Context, r *http.Response) (any, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<10))
	if err != nil {
		return nil, err
	}
	if r.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s", errBackend, r.Status)
	}
	return string(body), nil
}

// result is what one strategy did.
type result struct {
	name             string
	requests         int
	firstOK, finalOK int
	attempts         int
	mean, p50, p99   time.Duration
	served           map[string]int64
	servedTotal      int64
	elapsed          time.Duration
}

func drive(s strategy.Strategy, pub publisher.Publisher, bs *backends, client *http.Client, cfg config, progress io.Writer, current *currentBalancer) (result, error) {
	opts := []loadbalancer.Option{loadbalancer.WithStrategy(s)}
	if cfg.eject {
		opts = append(opts, loadbalancer.WithHostOptions(
			strategy.WithOutlierEjection(strategy.OutlierEjection{}), strategy.WithSlowStart(strategy.SlowStart{})))
	}
	bal, err := loadbalancer.New(pub, factory(client), opts...)
	if err != nil {
		return result{}, err
	}
	defer bal.Close()
	current.set(bal)

	bs.reset()
	var (
		next      atomic.Int64
		done      atomic.Int64
		firstFail atomic.Int64
		attempts  atomic.Int64
		failed    atomic.Int64
		latencies = make([]time.Duration, cfg.requests)
		wg        sync.WaitGroup
	)
	// The callback runs after every failed attempt; n == 1 means the
	// first attempt of a request failed.
	call := retry.RetryWithCallback(cfg.timeout, bal, func(n int, err error) (bool, error) {
		attempts.Add(1)
		if n == 1 {
			firstFail.Add(1)
		}
		return n < cfg.attempts, nil
	})
	start := time.Now()
	stop := startProgress(progress, s.Name(), cfg.requests, &done)
	for range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(cfg.requests) {
					return
				}
				t0 := time.Now()
				_, err := call(context.Background(), nil)
				latencies[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
				} else {
					attempts.Add(1) // failed attempts are counted by the callback
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	stop()

	r := result{
		name:     s.Name(),
		requests: cfg.requests,
		firstOK:  cfg.requests - int(firstFail.Load()),
		finalOK:  cfg.requests - int(failed.Load()),
		attempts: int(attempts.Load()),
		served:   map[string]int64{},
		elapsed:  time.Since(start),
	}
	slices.Sort(latencies)
	var sum time.Duration
	for _, l := range latencies {
		sum += l
	}
	r.mean = sum / time.Duration(len(latencies))
	r.p50 = latencies[len(latencies)/2]
	r.p99 = latencies[min(len(latencies)-1, len(latencies)*99/100)]
	for _, b := range bs.list {
		n := b.served.Load()
		r.served[b.spec.name] = n
		r.servedTotal += n
	}
	return r, nil
}

// startProgress draws a progress bar on w until the returned stop is called.
func startProgress(w io.Writer, name string, total int, done *atomic.Int64) (stop func()) {
	quit := make(chan struct{})
	finished := make(chan struct{})
	draw := func() {
		n := done.Load()
		const width = 30
		filled := int(n * width / int64(total))
		fmt.Fprintf(w, "\r%-22s [%s%s] %5d/%d", name, strings.Repeat("#", filled), strings.Repeat(".", width-filled), n, total)
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				draw()
			case <-quit:
				draw()
				fmt.Fprintln(w)
				return
			}
		}
	}()
	return func() { close(quit); <-finished }
}

func printTable(out io.Writer, bs *backends, results []result) {
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := "strategy\trequests\tok before retry\tok after retry\tattempts/req\tmean\tp50\tp99\t"
	for _, b := range bs.list {
		header += b.spec.name + "\t"
	}
	fmt.Fprintln(tw, header)
	for _, r := range results {
		line := fmt.Sprintf("%s\t%d\t%.1f%%\t%.1f%%\t%.2f\t%v\t%v\t%v\t",
			r.name, r.requests,
			100*float64(r.firstOK)/float64(r.requests),
			100*float64(r.finalOK)/float64(r.requests),
			float64(r.attempts)/float64(r.requests),
			r.mean.Round(10*time.Microsecond), r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond))
		for _, b := range bs.list {
			line += fmt.Sprintf("%.1f%%\t", 100*float64(r.served[b.spec.name])/float64(max(1, r.servedTotal)))
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	fmt.Fprintln(out, "\nok before retry: requests whose first attempt succeeded; the backend columns are each backend's share of all attempts.")
}
