package grpcpool_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"

	"github.com/seed41aebe0c/lbkit/grpcpool"
)

// A pool stands in for a *grpc.ClientConn in a generated client.
func Example() {
	// A server to talk to: grpc's health service on 127.0.0.1. It allows
	// the pool's keep-alive pings on idle connections.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
		MinTime: 5 * time.Second, PermitWithoutStream: true,
	}))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	defer srv.Stop()

	pool, err := grpcpool.New(lis.Addr().String(), grpcpool.WithSize(3))
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	client := healthpb.NewHealthClient(pool)
	resp, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.GetStatus())

	st := pool.State()
	fmt.Println("connections:", st.Size, "in flight:", st.InFlight, "scale-out:", st.ScaleOut)
	// Output:
	// SERVING
	// connections: 3 in flight: 0 scale-out: false
}

// Scale-out grows the pool while the calls under way exceed the desired
// number per connection.
func ExampleWithScaleOut() {
	pool, err := grpcpool.New("127.0.0.1:50051",
		grpcpool.WithSize(2),
		grpcpool.WithScaleOut(grpcpool.ScaleConfig{DesiredMaxStreams: 100}), // other fields: defaults
	)
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	fmt.Printf("%+v\n", pool.State().Scale)
	// Output:
	// {Period:30s DesiredMaxStreams:100 MaxConns:300}
}
