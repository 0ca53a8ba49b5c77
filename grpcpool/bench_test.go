package grpcpool_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/seed41aebe0c/lbkit/grpcpool"
)

// callers is the number of goroutines calling at once, as in the
// reference's table (100 concurrent callers).
const callers = 100

// runQPS makes b.N unary health checks from callers goroutines and reports
// the rate as "qps".
func runQPS(b *testing.B, cc grpc.ClientConnInterface) {
	client := healthpb.NewHealthClient(cc)
	for range 10 { // warm up every connection
		if err := check(context.Background(), client); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := &healthpb.HealthCheckRequest{}
			for next.Add(1) <= int64(b.N) {
				if _, err := client.Check(context.Background(), req); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d calls failed", n)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "qps")
}

// BenchmarkUnaryQPS compares pools of 1, 3 and 6 connections with a plain
// *grpc.ClientConn, server in the same process on 127.0.0.1. On a machine
// whose client and server share a few cores the CPU, not the single
// connection, is the bottleneck; the reference measured about 2× for 3
// connections over 1 with client and server on separate machines.
func BenchmarkUnaryQPS(b *testing.B) {
	srv := startServer(b, "127.0.0.1:0")
	b.Run("plain-clientconn", func(b *testing.B) {
		cc, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		defer cc.Close()
		runQPS(b, cc)
	})
	for _, size := range []int{1, 3, 6} {
		b.Run(fmt.Sprintf("pool-%d", size), func(b *testing.B) {
			p, err := grpcpool.New(srv.addr, grpcpool.WithSize(size))
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			runQPS(b, p)
		})
	}
}
