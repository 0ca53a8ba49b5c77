// Command kitservice is a go-kit service and its client, wired end to end
// with lbkit. It starts several instances of a small string service (go-kit
// endpoints behind go-kit's HTTP transport) on 127.0.0.1, each registering
// itself in etcd or Consul, and a go-kit client that reaches them through
// publisher → balancer → retry as one endpoint, wrapped in go-kit's logging
// and circuit-breaker middlewares. Half way through, one instance
// deregisters and shuts down; the client follows without a failed request.
//
// It needs a registry on 127.0.0.1:
//
//	make registry                                  # a Consul dev agent (built once by make test)
//	go run ./examples/kitservice -registry consul
//
//	etcd &                                         # or etcd (Debian: apt-get install etcd-server)
//	go run ./examples/kitservice -registry etcd
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/circuitbreaker"
	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker"

	"github.com/seed41aebe0c/lbkit/lbmetrics"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/retry"
)

func main() {
	cfg := config{}
	flag.StringVar(&cfg.registry, "registry", "consul", "where instances register: consul or etcd")
	flag.StringVar(&cfg.consulAddr, "consul", "127.0.0.1:8500", "Consul agent HTTP address")
	flag.StringVar(&cfg.etcdAddr, "etcd", "127.0.0.1:2379", "etcd client address")
	flag.IntVar(&cfg.instances, "instances", 3, "service instances to start")
	flag.IntVar(&cfg.requests, "requests", 300, "requests the client sends")
	flag.StringVar(&cfg.service, "service", "stringsvc", "service name in the registry")
	flag.Parse()
	logger := log.NewLogfmtLogger(log.NewSyncWriter(os.Stderr))
	if err := run(context.Background(), cfg, os.Stdout, logger); err != nil {
		fmt.Fprintln(os.Stderr, "kitservice:", err)
		os.Exit(1)
	}
}

type config struct {
	registry, consulAddr, etcdAddr, service string
	instances, requests                     int
}

// registry is what the example needs of a discovery system: a way for an
// instance to announce itself, and a publisher for the client.
type registry interface {
	register(ctx context.Context, id, addr string) (deregister func() error, err error)
	publisher() (publisher.Publisher, error)
	close()
}

func run(ctx context.Context, cfg config, out io.Writer, logger log.Logger) error {
	if cfg.instances < 2 || cfg.requests < 2 {
		return errors.New("-instances and -requests must be at least 2")
	}
	var (
		reg registry
		err error
	)
	switch cfg.registry {
	case "consul":
		reg, err = newConsulRegistry(cfg.consulAddr, cfg.service)
	case "etcd":
		reg, err = newEtcdRegistry(cfg.etcdAddr, cfg.service)
	default:
		err = fmt.Errorf("unknown registry %q (consul or etcd)", cfg.registry)
	}
	if err != nil {
		return err
	}
	defer reg.close()

	// Server side: instances of the string service, each registered.
	var instances []*instance
	defer func() {
		for _, in := range instances {
			in.stop()
		}
	}()
	for i := range cfg.instances {
		in, err := startInstance(ctx, reg, fmt.Sprintf("%s-%d", cfg.service, i+1))
		if err != nil {
			return err
		}
		instances = append(instances, in)
		fmt.Fprintf(out, "instance %s serving on %s, registered in %s\n", in.id, in.addr, cfg.registry)
	}

	// Client side: publisher → balancer → retry, then go-kit middlewares.
	pub, err := reg.publisher()
	if err != nil {
		return err
	}
	defer pub.Stop()
	// Metrics: one registry (serve it with promhttp in a real service), one
	// NewPrometheus per namespace, one Service per remote service.
	promReg := prometheus.NewRegistry()
	pm, err := lbmetrics.NewPrometheus(promReg, "kitservice")
	if err != nil {
		return err
	}
	m := pm.Service(cfg.service)
	if p, ok := pub.(interface{ SetMetrics(*publisher.Metrics) }); ok {
		p.SetMetrics(m.Discovery)
	}
	bal, err := loadbalancer.New(pub, uppercaseFactory, loadbalancer.WithLogger(logger), loadbalancer.WithMetrics(m.Balancer))
	if err != nil {
		return err
	}
	defer bal.Close()
	if err := waitForHosts(bal, cfg.instances, 10*time.Second); err != nil {
		return err
	}
	// retry.New is the production form of go-kit's lb.Retry: back-off with
	// jitter, a retry budget, another host on each retry, and errors the
	// service marks permanent are not retried.
	retrier, err := retry.New(bal, retry.WithMaxAttempts(3), retry.WithTimeout(2*time.Second), retry.WithMetrics(m.Retry))
	if err != nil {
		return err
	}
	defer retrier.Close()
	uppercase := retrier.Endpoint()
	uppercase = circuitbreaker.Gobreaker(gobreaker.NewCircuitBreaker(gobreaker.Settings{Name: "uppercase"}))(uppercase)
	uppercase = loggingMiddleware(log.With(logger, "method", "uppercase"), cfg.requests/10)(uppercase)

	// Eight callers share the requests. Half way, the first instance
	// leaves: it deregisters, then stops.
	var (
		next, failed atomic.Int64
		half         = make(chan struct{})
		resume       = make(chan struct{})
		before       []int
		wg           sync.WaitGroup
		wrong        atomic.Value
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.requests {
					return
				}
				if i == cfg.requests/2 {
					close(half)
				}
				if i >= cfg.requests/2 {
					<-resume
				}
				resp, err := uppercase(ctx, uppercaseRequest{S: "hello " + strconv.Itoa(i)})
				if err != nil {
					failed.Add(1)
					continue
				}
				if r := resp.(uppercaseResponse); r.V != "HELLO "+strconv.Itoa(i) {
					wrong.Store(r.V)
				}
			}
		}()
	}
	<-half
	for _, in := range instances {
		before = append(before, in.total())
	}
	leaving := instances[0]
	if err := leaving.leave(); err != nil {
		return err
	}
	fmt.Fprintf(out, "request %d: instance %s deregistered and stopped\n", cfg.requests/2, leaving.id)
	close(resume)
	wg.Wait()
	if w := wrong.Load(); w != nil {
		return fmt.Errorf("wrong answer %q", w)
	}

	fmt.Fprintf(out, "\n%d requests, %d failed\n", cfg.requests, failed.Load())
	for i, in := range instances {
		fmt.Fprintf(out, "  %-12s served %4d before the leave, %4d after\n", in.id, before[i], in.total()-before[i])
	}
	printMetrics(out, promReg)
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d requests failed", n)
	}
	return nil
}

// printMetrics shows what a Prometheus scrape would see of the calls: the
// request latency histogram and the retries.
func printMetrics(out io.Writer, reg *prometheus.Registry) {
	mfs, err := reg.Gather()
	if err != nil {
		fmt.Fprintln(out, "metrics:", err)
		return
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "kitservice_retry_request_duration_seconds":
				h := m.GetHistogram()
				fmt.Fprintf(out, "%s: %d calls, mean %.2f ms\n", mf.GetName(), h.GetSampleCount(), 1000*h.GetSampleSum()/float64(max(h.GetSampleCount(), 1)))
			case "kitservice_retry_retried_attempts_total", "kitservice_retry_budget_exhausted_total":
				fmt.Fprintf(out, "%s: %v\n", mf.GetName(), m.GetCounter().GetValue())
			}
		}
	}
}

func waitForHosts(b *loadbalancer.Balancer, n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for len(b.Status().Hosts) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("the balancer saw %d of %d instances after %v", len(b.Status().Hosts), n, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// The string service, as a go-kit service: an endpoint per method, request
// and response types, and HTTP transport codecs.

type uppercaseRequest struct {
	S string `json:"s"`
}

type uppercaseResponse struct {
	V   string `json:"v"`
	Err string `json:"err,omitempty"`
}

var errEmpty = errors.New("empty string")

func makeUppercaseEndpoint() endpoint.Endpoint {
	return func(_ context.Context, request any) (any, error) {
		req := request.(uppercaseRequest)
		if req.S == "" {
			return uppercaseResponse{Err: errEmpty.Error()}, nil
		}
		return uppercaseResponse{V: strings.ToUpper(req.S)}, nil
	}
}

func decodeUppercaseRequest(_ context.Context, r *http.Request) (any, error) {
	var req uppercaseRequest
	err := json.NewDecoder(r.Body).Decode(&req)
	return req, err
}

func encodeResponse(_ context.Context, w http.ResponseWriter, response any) error {
	return json.NewEncoder(w).Encode(response)
}

// uppercaseFactory is the client side's go-kit sd.Factory: an HTTP client
// endpoint per instance address.
func uppercaseFactory(instance string) (endpoint.Endpoint, io.Closer, error) {
	u, err := url.Parse("http://" + instance + "/uppercase")
	if err != nil {
		return nil, nil, err
	}
	return httptransport.NewClient(http.MethodPost, u, httptransport.EncodeJSONRequest, decodeUppercaseResponse).Endpoint(), nil, nil
}

func decodeUppercaseResponse(_ context.Context, r *http.Response) (any, error) {
	if r.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("uppercase: %s", r.Status)
	}
	var resp uppercaseResponse
	if err := json.NewDecoder(r.Body).Decode(&resp); err != nil {
		return nil, err
	}
	if resp.Err != "" {
		return nil, retry.Permanent(errors.New(resp.Err)) // the service said no: retrying will not help
	}
	return resp, nil
}

// loggingMiddleware logs every nth call and every failure.
func loggingMiddleware(logger log.Logger, every int) endpoint.Middleware {
	var mu sync.Mutex
	n := 0
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			begin := time.Now()
			resp, err := next(ctx, request)
			mu.Lock()
			n++
			log := err != nil || n%every == 0
			mu.Unlock()
			if log {
				logger.Log("call", n, "took", time.Since(begin), "err", err)
			}
			return resp, err
		}
	}
}

// instance is one running copy of the service.
type instance struct {
	id, addr   string
	srv        *http.Server
	deregister func() error
	mu         sync.Mutex
	served     int
	stopOnce   sync.Once
}

func startInstance(ctx context.Context, reg registry, id string) (*instance, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	in := &instance{id: id, addr: ln.Addr().String()}
	handler := httptransport.NewServer(makeUppercaseEndpoint(), decodeUppercaseRequest, encodeResponse,
		httptransport.ServerBefore(func(ctx context.Context, _ *http.Request) context.Context {
			in.count()
			return ctx
		}))
	mux := http.NewServeMux()
	mux.Handle("POST /uppercase", handler)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	in.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go in.srv.Serve(ln)
	in.deregister, err = reg.register(ctx, id, in.addr)
	if err != nil {
		in.srv.Close()
		return nil, fmt.Errorf("registering %s: %w", id, err)
	}
	return in, nil
}

func (in *instance) count() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.served++
}

func (in *instance) total() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.served
}

// leave is a graceful exit: deregister first, give the clients a moment to
// see it, then stop serving.
func (in *instance) leave() error {
	if err := in.deregister(); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	in.stop()
	return nil
}

func (in *instance) stop() {
	in.stopOnce.Do(func() {
		in.deregister()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		in.srv.Shutdown(ctx)
	})
}
