package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/endpointcache"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/retry"
)

// These benchmarks compare whole chains, discovery to retry, of go-kit and
// lbkit in one run. Compare the columns with
//
//	go test -run '^$' -bench 'Retry' -benchmem -count 10 ./retry > bench.txt
//	benchstat -col /lib bench.txt
//
// go-kit: sd.NewEndpointer over an sd.FixedInstancer, lb.NewRoundRobin,
// lb.Retry. lbkit: loadbalancer.NewRoundRobin over a static publisher
// (every call records its outcome in the host's statistics), then
// retry.Retry ("lbkit") or retry.New ("lbkit-new": default options but
// for a timeout like the others', no back-off, whose waits are not a cost,
// and a budget large enough never to refuse the failing-attempt loops;
// "lbkit-new-default" leaves the default budget). "lbkit-on-gokit-lb" is
// retry.Retry over go-kit's endpointer and balancer: the retry alone.

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
	bal, err := loadbalancer.NewRoundRobin(pub, endpointcache.Factory(f))
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

// BenchmarkRetrySuccess is one call that succeeds at the first attempt.
func BenchmarkRetrySuccess(b *testing.B) {
	all := append(chains[:len(chains):len(chains)], struct {
		lib  string
		make func(*testing.B, sd.Factory) chain
	}{"lbkit-new-default", lbkitNewDefaultChain})
	for _, c := range all {
		b.Run("lib="+c.lib, func(b *testing.B) {
			ch := c.make(b, failingFactory(1))
			defer ch.close()
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := ch.ep(ctx, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
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
			b.Run(fmt.Sprintf("attempts=%d/lib=%s", n, c.lib), func(b *testing.B) {
				ch := c.make(b, failingFactory(n))
				defer ch.close()
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if _, err := ch.ep(ctx, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
