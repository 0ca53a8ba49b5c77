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

// A Cache shares one pool per target, as the reference's GetGrpcPool did;
// WithConnectTimeout reports an unreachable target from New.
func ExampleCache() {
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

	var pools grpcpool.Cache
	defer pools.Close()
	p1, err := pools.Get(lis.Addr().String(), grpcpool.WithConnectTimeout(5*time.Second))
	if err != nil {
		panic(err)
	}
	p2, _ := pools.Get(lis.Addr().String())
	fmt.Println("one pool:", p1 == p2)
	resp, err := healthpb.NewHealthClient(p2).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.GetStatus())
	// Output:
	// one pool: true
	// SERVING
}
