// Package orcagrpc carries backend-reported load (package orca) over gRPC:
// a server interceptor puts the Reporter's report in every response's
// endpoint-load-metrics trailer, and a client interceptor (or go-kit's gRPC
// ClientAfter) hands the report in each response's trailer to orca.Reports
// under the instance's address, from where it reaches the balancer's host.
//
// The client reads both the text form that orca writes and the binary
// form gRPC's own ORCA support sends (endpoint-load-metrics-bin, a
// serialized xds.data.orca.v3.OrcaLoadReport), so a client balanced by
// lbkit can weight servers that use grpc-go's orca package. It lives apart
// from package orca so that HTTP users do not build grpc.
package orcagrpc
