package orcagrpc

import (
	"context"
	"fmt"
	"math"

	kitgrpc "github.com/go-kit/kit/transport/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/seed41aebe0c/lbkit/orca"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// BinaryTrailer is the trailer in which gRPC's ORCA support sends a
// serialized xds.data.orca.v3.OrcaLoadReport.
const BinaryTrailer = orca.Header + "-bin"

// UnaryServerInterceptor sends r's current report in the
// endpoint-load-metrics trailer of every unary response (go-kit gRPC
// servers included: they are gRPC handlers), and counts the call, as
// failed if the handler returned an error.
func UnaryServerInterceptor(r *orca.Reporter) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		r.Served(err != nil)
		if v := r.Value(); v != "" {
			_ = grpc.SetTrailer(ctx, metadata.MD{orca.Header: []string{v}})
		}
		return resp, err
	}
}

// UnaryClientInterceptor hands the report in each response's trailer to
// reports under instance: install it on the connection that the factory
// makes for instance. Calls that fail still deliver their report if the
// server sent one.
func UnaryClientInterceptor(reports *orca.Reports, instance string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		var md metadata.MD
		err := invoker(ctx, method, req, reply, cc, append(opts, grpc.Trailer(&md))...)
		_ = Report(reports, instance, md)
		return err
	}
}

// ClientAfter is the same for go-kit's gRPC client
// (kitgrpc.ClientAfter(orcagrpc.ClientAfter(reports, instance))).
func ClientAfter(reports *orca.Reports, instance string) kitgrpc.ClientResponseFunc {
	return func(ctx context.Context, _ metadata.MD, trailer metadata.MD) context.Context {
		_ = Report(reports, instance, trailer)
		return ctx
	}
}

// Report hands the load report in trailer, text or binary, to reports
// under instance. No report is no error; one that does not parse is an
// error wrapping orca.ErrInvalidArgument.
func Report(reports *orca.Reports, instance string, trailer metadata.MD) error {
	if v := trailer.Get(orca.Header); len(v) > 0 {
		return reports.ReportHeader(instance, v[0])
	}
	if v := trailer.Get(BinaryTrailer); len(v) > 0 {
		r, err := ParseBinary([]byte(v[0]))
		if err != nil {
			return err
		}
		reports.Report(instance, r)
	}
	return nil
}

// The field numbers of xds.data.orca.v3.OrcaLoadReport that a host's
// statistics keep.
const (
	fieldCPU = 1 // double cpu_utilization
	fieldRPS = 3 // uint64 rps (deprecated for rps_fractional)
	fieldRPF = 6 // double rps_fractional
	fieldEPS = 7 // double eps
	fieldApp = 9 // double application_utilization
)

// ParseBinary reads a serialized xds.data.orca.v3.OrcaLoadReport, as gRPC
// sends it in the endpoint-load-metrics-bin trailer, keeping what a host's
// statistics keep; other fields (memory, the maps) are skipped. Malformed
// input is an error wrapping orca.ErrInvalidArgument.
func ParseBinary(b []byte) (strategy.LoadReport, error) {
	var r strategy.LoadReport
	var rps uint64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return strategy.LoadReport{}, malformed(protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case typ == protowire.Fixed64Type && (num == fieldCPU || num == fieldRPF || num == fieldEPS || num == fieldApp):
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return strategy.LoadReport{}, malformed(protowire.ParseError(n))
			}
			b = b[n:]
			f := math.Float64frombits(v)
			switch num {
			case fieldCPU:
				r.CPUUtilization = f
			case fieldRPF:
				r.RPS = f
			case fieldEPS:
				r.EPS = f
			case fieldApp:
				r.ApplicationUtilization = f
			}
		case typ == protowire.VarintType && num == fieldRPS:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return strategy.LoadReport{}, malformed(protowire.ParseError(n))
			}
			b = b[n:]
			rps = v
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return strategy.LoadReport{}, malformed(protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	if r.RPS == 0 {
		r.RPS = float64(rps)
	}
	return r, nil
}

func malformed(err error) error {
	return fmt.Errorf("%w: %s: %w", orca.ErrInvalidArgument, BinaryTrailer, err)
}
