package orcagrpc_test

import (
	"fmt"

	"google.golang.org/grpc/metadata"

	"github.com/seed41aebe0c/lbkit/orca"
	"github.com/seed41aebe0c/lbkit/orca/orcagrpc"
	"github.com/seed41aebe0c/lbkit/strategy"
)

func Example() {
	// Server: grpc.NewServer(grpc.UnaryInterceptor(orcagrpc.UnaryServerInterceptor(reporter)))
	// Client, per instance: grpc.WithUnaryInterceptor(orcagrpc.UnaryClientInterceptor(reports, instance))
	// Both end in Report, which reads a trailer:
	reports := new(orca.Reports)
	host, _ := strategy.NewHost("127.0.0.1:9090", 1)
	reports.SetHosts([]*strategy.Host{host})
	trailer := metadata.Pairs(orca.Header, "TEXT application_utilization=0.5,rps_fractional=40")
	if err := orcagrpc.Report(reports, "127.0.0.1:9090", trailer); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%+v\n", host.Stats().Load.Last)
	// Output:
	// {CPUUtilization:0 ApplicationUtilization:0.5 RPS:40 EPS:0}
}
