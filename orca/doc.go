// Package orca carries backend-reported load: a backend says how loaded it
// is in each response, and the client weights its hosts by it.
//
// The report is ORCA's (Open Request Cost Aggregation), in the
// endpoint-load-metrics response header or gRPC trailer that Envoy and
// gRPC read, in its text form:
//
//	endpoint-load-metrics: TEXT cpu_utilization=0.3,rps_fractional=10,eps=1,named_metrics.foo=2
//
// Load is one report; Format writes the text form, and Parse (and the
// client hooks) read it and Envoy's JSON form ("JSON " and an
// OrcaLoadReport in protocol buffers' JSON mapping).
//
// The server side is a Reporter: it measures the process's CPU
// utilization (from the CPU time the operating system accounts to it) and
// the requests and errors its middlewares count, once per interval, and
// lets the application add or replace values (WithLoadFunc: an
// application utilization, named metrics). Reporter.Handler (net/http),
// Reporter.ServerAfter and Reporter.ServerErrorEncoder (go-kit HTTP
// servers) and package orcagrpc's interceptors attach the report to every
// response at the cost of an atomic load.
//
// The client side: a go-kit factory knows only the instance's address, and
// the balancer owns the host whose statistics a strategy reads. Reports
// joins the two. The factory's client hook (ClientAfter or ClientFinalizer
// for go-kit HTTP clients, orcagrpc's interceptor or go-kit gRPC
// ClientAfter) hands each response's report to Reports under the
// instance's address; the balancer tells Reports its hosts
// (loadbalancer.WithHostWatcher(reports)); Reports passes the report to
// the host (strategy.Host.ReportLoad), with one atomic load and no lock or
// allocation. strategy.WeightedRoundRobin then weights hosts as gRPC's
// weighted_round_robin (gRFC A58) does: RPS / (utilization + EPS/RPS ×
// penalty), with a blackout period and weight expiry. The reported load
// shows in each host's HostStats.Load (and so in the balancer's Status).
//
// The gRPC hooks are in the subpackage orcagrpc, so that an HTTP user does
// not build grpc. Every invalid argument and unparsable header value is an
// error wrapping ErrInvalidArgument.
package orca
