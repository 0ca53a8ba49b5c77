package pooling_test

import (
	"context"
	"net"
	"testing"

	"github.com/jackc/puddle/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/lbmetrics"
	"github.com/seed41aebe0c/lbkit/pooling"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// The reference is github.com/jackc/puddle/v2, a well-known generic pool.
// Both pools hold real TCP connections to a local echo server, and each
// iteration borrows an idle one and gives it back. Compare with
//
//	go test -run '^$' -bench GetPut -benchmem -count 6 -benchtime 300ms ./pooling > bench.txt
//	benchstat -col /impl bench.txt

const benchConns = 4

func BenchmarkGetPut(b *testing.B) {
	srv := startEcho(b)
	d := tcpDriver(b)

	lbkit := func(b *testing.B, opts ...pooling.PoolOption) *pooling.Pool[net.Conn] {
		opts = append([]pooling.PoolOption{pooling.WithPrespawn(benchConns), pooling.WithMaxConns(30)}, opts...)
		p, err := pooling.NewPool[net.Conn](srv.addr, d, opts...)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { p.Close() })
		eventually(b, "prespawned connections", func() bool { return p.Stats().Idle == benchConns })
		return p
	}
	lbkitLoop := func(p *pooling.Pool[net.Conn]) func() bool {
		ctx := context.Background()
		return func() bool {
			c, err := p.Get(ctx)
			if err != nil {
				return false
			}
			return p.Put(c, nil) == nil
		}
	}
	puddlePool := func(b *testing.B) *puddle.Pool[net.Conn] {
		p, err := puddle.NewPool(&puddle.Config[net.Conn]{
			Constructor: func(ctx context.Context) (net.Conn, error) { return d.Dial(ctx, srv.addr) },
			Destructor:  func(c net.Conn) { c.Close() },
			MaxSize:     30,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(p.Close)
		for range benchConns {
			if err := p.CreateResource(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		return p
	}
	puddleLoop := func(p *puddle.Pool[net.Conn]) func() bool {
		ctx := context.Background()
		return func() bool {
			r, err := p.Acquire(ctx)
			if err != nil {
				return false
			}
			r.Release()
			return true
		}
	}

	run := func(name string, setup func(b *testing.B) func() bool) {
		b.Run(name+"/run=serial", func(b *testing.B) {
			step := setup(b)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if !step() {
					b.Fatal("get/put failed")
				}
			}
		})
		b.Run(name+"/run=parallel", func(b *testing.B) {
			step := setup(b)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if !step() {
						b.Error("get/put failed")
						return
					}
				}
			})
		})
	}
	// Like puddle, no test on borrow: the pool's own cost only.
	run("impl=lbkit", func(b *testing.B) func() bool { return lbkitLoop(lbkit(b, pooling.WithoutTestOnBorrow())) })
	run("impl=puddle", func(b *testing.B) func() bool { return puddleLoop(puddlePool(b)) })
	// The defaults a user gets: test on borrow, skipped for a connection
	// lent within DefaultTestOnBorrowAfter, which here is every one.
	run("impl=lbkit-defaults", func(b *testing.B) func() bool { return lbkitLoop(lbkit(b)) })
	// NetDriver's non-blocking liveness check on every borrow: what the
	// window saves.
	run("impl=lbkit-testevery", func(b *testing.B) func() bool {
		return lbkitLoop(lbkit(b, pooling.WithTestOnBorrow(0)))
	})
	// With Prometheus metrics on every Get and Put.
	run("impl=lbkit-metrics", func(b *testing.B) func() bool {
		pm, err := lbmetrics.NewPrometheus(prometheus.NewRegistry(), "bench")
		if err != nil {
			b.Fatal(err)
		}
		return lbkitLoop(lbkit(b, pooling.WithoutTestOnBorrow(), pooling.WithMetrics(pm.Service("bench").Pool)))
	})
}

// BenchmarkServiceGetConn is GetConn and Release over two hosts: the
// strategy's pick, the host's statistics and its pool.
func BenchmarkServiceGetConn(b *testing.B) {
	a, c := startEcho(b), startEcho(b)
	s := newService(b, []string{a.addr, c.addr}, pooling.WithPrespawn(benchConns), pooling.WithoutTestOnBorrow())
	eventually(b, "prespawned connections", func() bool {
		for _, h := range s.Status().Hosts {
			if h.Pool.Idle != benchConns {
				return false
			}
		}
		return true
	})
	ctx := context.Background()
	step := func() bool {
		conn, err := s.GetConn(ctx)
		if err != nil {
			return false
		}
		return conn.Release(nil, strategy.HostUp) == nil
	}
	b.Run("run=serial", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if !step() {
				b.Fatal("GetConn failed")
			}
		}
	})
	b.Run("run=parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !step() {
					b.Error("GetConn failed")
					return
				}
			}
		})
	})
}

// BenchmarkFactoryEndpoint calls an endpoint from Factory: borrow, call,
// give back. call=none does no I/O, to show the adapter's own cost;
// call=echo makes a real round trip to the local server.
func BenchmarkFactoryEndpoint(b *testing.B) {
	srv := startEcho(b)
	none := func(_ context.Context, c net.Conn, req any) (any, error) { return req, nil }
	buf := make([]byte, 5)
	echo := func(_ context.Context, c net.Conn, _ any) (any, error) {
		if _, err := c.Write([]byte("ping\n")); err != nil {
			return nil, err
		}
		_, err := c.Read(buf)
		return nil, err
	}
	for _, tc := range []struct {
		name string
		call pooling.Call[net.Conn]
	}{{"call=none", none}, {"call=echo", echo}} {
		b.Run(tc.name, func(b *testing.B) {
			f, err := pooling.Factory[net.Conn](tcpDriver(b), tc.call, pooling.WithoutTestOnBorrow())
			if err != nil {
				b.Fatal(err)
			}
			ep, closer, err := f(srv.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer closer.Close()
			ctx := context.Background()
			var req any = "x"
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := ep(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
