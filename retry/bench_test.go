package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// These benchmarks compare whole chains, discovery to retry, of go-kit and
// lbkit in one run. Compare the columns with
//
//	go test -run '^$' -bench 'Retry' -benchmem -count 6 -benchtime 300ms ./retry > bench.txt
//	benchstat -col /lib bench.txt
//
// go-kit: sd.NewEndpointer over an sd.FixedInstancer, lb.NewRoundRobin,
// lb.Retry. lbkit: loadbalancer.New with round robin over a static publisher
// (every call records its outcome in the host's statistics), then
// retry.Retry ("lbkit") or retry.New ("lbkit-new": default options but
// for a timeout like the others', no back-off, whose waits are not a cost,
// and a budget large enough never to refuse the failing-attempt loops;
// "lbkit-new-default" leaves the default budget). "lbkit-on-gokit-lb" is
// retry.Retry over go-kit's endpointer and balancer: the retry alone.
// Every chain but "lbkit-no-timeout" bounds each call with a deadline
// context (context.WithTimeout in go-kit, context.WithDeadline in lbkit).

const benchHosts = 10

var errBench = errors.New("bench: attempt failed")

func benchAddresses() []string {
	out := make([]string, benchHosts)
	for i := range out {
		out[i] = fmt.Sprintf("10.0.0.%d:8080", i+1)
	}
	return out
}

// failingFactory makes endpoints that, together, fail every call but each
// n-th, so that a retrying call makes exactly n attempts.
func failingFactory(n int64) sd.Factory {
	var calls atomic.Int64
	resp := "ok"
	ep := func(context.Context, any) (any, error) {
		if calls.Add(1)%n != 0 {
			return nil, errBench
		}
		return resp, nil
	}
	return func(string) (endpoint.Endpoint, io.Closer, error) { return ep, nil, nil }
}

type chain struct {
	ep    endpoint.Endpoint
	close func()
}

func goKitChain(b *testing.B, f sd.Factory) chain {
	e := sd.NewEndpointer(sd.FixedInstancer(benchAddresses()), f, log.NewNopLogger())
	return chain{ep: lb.Retry(10, time.Second, lb.NewRoundRobin(e)), close: e.Close}
}

// lbkitOnGoKitChain is retry.Retry over go-kit's own endpointer and round
// robin: the cost of the retry alone, against lb.Retry.
func lbkitOnGoKitChain(b *testing.B, f sd.Factory) chain {
	e := sd.NewEndpointer(sd.FixedInstancer(benchAddresses()), f, log.NewNopLogger())
	return chain{ep: retry.Retry(10, time.Second, lb.NewRoundRobin(e)), close: e.Close}
}

func lbkitBalancer(b *testing.B, f sd.Factory) *loadbalancer.Balancer {
	pub, err := static.NewAddresses(benchAddresses()...)
	if err != nil {
		b.Fatal(err)
	}
	bal, err := loadbalancer.New(pub, f, loadbalancer.WithStrategy(strategy.RoundRobin{}))
	if err != nil {
		b.Fatal(err)
	}
	return bal
}

func lbkitRetryChain(b *testing.B, f sd.Factory) chain {
	bal := lbkitBalancer(b, f)
	return chain{ep: retry.Retry(10, time.Second, bal), close: func() { bal.Close() }}
}

func lbkitNewChain(b *testing.B, f sd.Factory) chain {
	bal := lbkitBalancer(b, f)
	budget, err := retry.NewBudget(100, 0, retry.DefaultBudgetWindow)
	if err != nil {
		b.Fatal(err)
	}
	r, err := retry.New(bal, retry.WithMaxAttempts(10), retry.WithTimeout(time.Second),
		retry.WithoutBackoff(), retry.WithBudget(budget))
	if err != nil {
		b.Fatal(err)
	}
	return chain{ep: r.Endpoint(), close: func() { r.Close(); bal.Close() }}
}

// lbkitNewDefaultChain is retry.New with nothing but a timeout set: its
// default budget refuses most retries of a loop that always retries, so it
// serves the success path only.
func lbkitNewDefaultChain(b *testing.B, f sd.Factory) chain {
	bal := lbkitBalancer(b, f)
	r, err := retry.New(bal, retry.WithTimeout(time.Second))
	if err != nil {
		b.Fatal(err)
	}
	return chain{ep: r.Endpoint(), close: func() { r.Close(); bal.Close() }}
}

var chains = []struct {
	lib  string
	make func(*testing.B, sd.Factory) chain
}{
	{"gokit", goKitChain},
	{"lbkit", lbkitRetryChain},
	{"lbkit-new", lbkitNewChain},
	{"lbkit-on-gokit-lb", lbkitOnGoKitChain},
}

// lbkitNoTimeoutChain is retry.Retry with timeout 0: the caller's context
// goes through, so the call makes no deadline context. The difference from
// "lbkit" is the price of context.WithDeadline, which go-kit pays as well.
func lbkitNoTimeoutChain(b *testing.B, f sd.Factory) chain {
	bal := lbkitBalancer(b, f)
	return chain{ep: retry.Retry(10, 0, bal), close: func() { bal.Close() }}
}

// BenchmarkRetrySuccess is one call that succeeds at the first attempt.
func BenchmarkRetrySuccess(b *testing.B) {
	type lib = struct {
		lib  string
		make func(*testing.B, sd.Factory) chain
	}
	all := append(chains[:len(chains):len(chains)],
		lib{"lbkit-new-default", lbkitNewDefaultChain}, lib{"lbkit-no-timeout", lbkitNoTimeoutChain},
		lib{"lbkit-new-metrics", lbkitNewMetricsChain})
	for _, c := range all {
		b.Run("lib="+c.lib, func(b *testing.B) { runChain(b, c.make(b, failingFactory(1))) })
	}
}

// runChain times calls through ch, which must succeed, and closes it.
func runChain(b *testing.B, ch chain) {
	defer ch.close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := ch.ep(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRetrySuccessParallel is BenchmarkRetrySuccess from every P.
func BenchmarkRetrySuccessParallel(b *testing.B) {
	for _, c := range chains {
		b.Run("lib="+c.lib, func(b *testing.B) {
			ch := c.make(b, failingFactory(1))
			defer ch.close()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if _, err := ch.ep(ctx, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkRetryAttempts is one call whose first attempts-1 attempts fail.
// The cost of each extra attempt is (ns at 4 - ns at 1) / 3.
func BenchmarkRetryAttempts(b *testing.B) {
	for _, n := range []int64{1, 2, 4} {
		for _, c := range chains {
			b.Run(fmt.Sprintf("attempts=%d/lib=%s", n, c.lib), func(b *testing.B) { runChain(b, c.make(b, failingFactory(n))) })
		}
	}
}

// httpEndpoint is a go-kit HTTP client endpoint that GETs from an httptest
// server on 127.0.0.1, both closed when b ends.
func httpEndpoint(b *testing.B) endpoint.Endpoint {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	b.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	b.Cleanup(tr.CloseIdleConnections)
	u, err := url.Parse(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	return httptransport.NewClient(http.MethodGet, u,
		func(context.Context, *http.Request, any) error { return nil },
		func(_ context.Context, r *http.Response) (any, error) {
			body, err := io.ReadAll(r.Body)
			if err == nil && r.StatusCode != http.StatusOK {
				err = fmt.Errorf("HTTP status %d", r.StatusCode)
			}
			return string(body), err
		},
		httptransport.SetClient(&http.Client{Transport: tr})).Endpoint()
}

// BenchmarkRetryHTTP is one real call, a go-kit HTTP client endpoint to an
// httptest server on 127.0.0.1, through go-kit's round robin and a retry:
// whether the deadline context of the retry's timeout costs anything
// measurable on a real call. "lbkit" bounds the call with
// context.WithDeadline, as Retry does; "lbkit-no-deadline" passes the
// caller's context through (timeout 0), the floor that any cheaper, lazily
// armed deadline context could reach, since net/http asks every request's
// context for its Done channel. "gokit" is lb.Retry, for scale.
func BenchmarkRetryHTTP(b *testing.B) {
	bal := lb.NewRoundRobin(sd.FixedEndpointer{httpEndpoint(b)})
	for _, c := range []struct {
		lib string
		ep  endpoint.Endpoint
	}{
		{"gokit", lb.Retry(3, time.Second, bal)},
		{"lbkit", retry.Retry(3, time.Second, bal)},
		{"lbkit-no-deadline", retry.Retry(3, 0, bal)},
	} {
		b.Run("lib="+c.lib, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.ep(ctx, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
