package loadbalancer_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/static"
)

// These benchmarks compare whole chains: lbkit's static publisher + endpoint
// cache + balancer against go-kit's sd.NewEndpointer over a FixedInstancer +
// lb.NewRoundRobin / lb.NewRandom. Run both with
//
//	go test -run '^$' -bench Endpoint -benchmem -count 10 ./loadbalancer/ > bench.txt
//	benchstat -col /impl bench.txt

func nopFactory(string) (endpoint.Endpoint, io.Closer, error) {
	return func(context.Context, any) (any, error) { return nil, nil }, nil, nil
}

func addresses(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("127.0.0.%d:%d", 1+i/1000, 8000+i%1000)
	}
	return out
}

type balancer interface {
	Endpoint() (endpoint.Endpoint, error)
}

func lbkitBalancer(b *testing.B, kind string, n int, opts ...loadbalancer.Option) balancer {
	p, err := static.NewAddresses(addresses(n)...)
	if err != nil {
		b.Fatal(err)
	}
	var bal *loadbalancer.Balancer
	if kind == "random" {
		bal, err = loadbalancer.New(p, nopFactory, append(opts, random)...)
	} else {
		bal, err = loadbalancer.New(p, nopFactory, append(opts, roundRobin)...)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bal.Close(); p.Stop() })
	return bal
}

func gokitBalancer(b *testing.B, kind string, n int) balancer {
	e := sd.NewEndpointer(sd.FixedInstancer(addresses(n)), nopFactory, log.NewNopLogger())
	b.Cleanup(e.Close)
	for {
		if eps, _ := e.Endpoints(); len(eps) == n {
			break
		}
	}
	if kind == "random" {
		return lb.NewRandom(e, 1)
	}
	return lb.NewRoundRobin(e)
}

func BenchmarkEndpoint(b *testing.B) {
	for _, kind := range []string{"roundrobin", "random"} {
		for _, n := range []int{10, 1000} {
			for _, lib := range []string{"gokit", "lbkit", "lbkit-metrics"} {
				// key=value names let benchstat put the two libraries in
				// columns: benchstat -col /impl bench.txt
				name := fmt.Sprintf("%s/hosts=%d/impl=%s", kind, n, lib)
				b.Run(name+"/serial", func(b *testing.B) {
					bal := build(b, lib, kind, n)
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						if _, err := bal.Endpoint(); err != nil {
							b.Fatal(err)
						}
					}
				})
				if lib == "gokit" && kind == "random" {
					// go-kit's Random shares one *rand.Rand, which is not
					// safe for concurrent use: a parallel run is a data race.
					continue
				}
				b.Run(name+"/parallel", func(b *testing.B) {
					bal := build(b, lib, kind, n)
					b.ReportAllocs()
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if _, err := bal.Endpoint(); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			}
		}
	}
}

func build(b *testing.B, lib, kind string, n int) balancer {
	switch lib {
	case "lbkit":
		return lbkitBalancer(b, kind, n)
	case "lbkit-metrics":
		return lbkitBalancer(b, kind, n, withBenchMetrics(b))
	}
	return gokitBalancer(b, kind, n)
}
