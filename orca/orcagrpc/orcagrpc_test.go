package orcagrpc_test

import (
	"context"
	"errors"
	"math"
	"net"
	"testing"
	"time"

	kitgrpc "github.com/go-kit/kit/transport/grpc"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/seed41aebe0c/lbkit/orca"
	"github.com/seed41aebe0c/lbkit/orca/orcagrpc"
	"github.com/seed41aebe0c/lbkit/strategy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve starts a real gRPC server on 127.0.0.1 with the health service and
// the given interceptor, and returns its address.
func serve(t *testing.T, icpt grpc.UnaryServerInterceptor) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(grpc.UnaryInterceptor(icpt))
	healthpb.RegisterHealthServer(s, health.NewServer())
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

func dial(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// linked returns Reports that deliver to a host of addr.
func linked(t *testing.T, addr string) (*orca.Reports, *strategy.Host) {
	t.Helper()
	h, err := strategy.NewHost(addr, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := new(orca.Reports)
	r.SetHosts([]*strategy.Host{h})
	return r, h
}

func startReporter(t *testing.T) *orca.Reporter {
	t.Helper()
	rep, err := orca.NewReporter(orca.WithLoadFunc(func(m orca.Load) orca.Load {
		m.ApplicationUtilization, m.RPS = 0.6, 25
		return m
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rep.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for rep.Value() == "" {
		if time.Now().After(deadline) {
			t.Fatal("no report within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return rep
}

// The trailer path end to end: a real gRPC server's interceptor sends the
// Reporter's report, the client's interceptor hands it to the host.
func TestTrailerReachesTheHost(t *testing.T) {
	rep := startReporter(t)
	addr := serve(t, orcagrpc.UnaryServerInterceptor(rep))
	reports, h := linked(t, addr)
	cc := dial(t, addr, grpc.WithUnaryInterceptor(orcagrpc.UnaryClientInterceptor(reports, addr)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	// A failing call (unknown service) still carries the report.
	if _, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"}); err == nil {
		t.Fatal("check of an unknown service succeeded")
	}
	st := h.Stats().Load
	if st.Reports != 2 || st.Last.ApplicationUtilization != 0.6 || st.Last.RPS != 25 {
		t.Errorf("host's load: %+v", st)
	}
}

// go-kit's gRPC client with ClientAfter reads the same trailer.
func TestGoKitGRPCClientAfter(t *testing.T) {
	rep := startReporter(t)
	addr := serve(t, orcagrpc.UnaryServerInterceptor(rep))
	reports, h := linked(t, addr)
	cc := dial(t, addr)
	ep := kitgrpc.NewClient(cc, "grpc.health.v1.Health", "Check",
		func(context.Context, any) (any, error) { return &healthpb.HealthCheckRequest{}, nil },
		func(_ context.Context, resp any) (any, error) { return resp, nil },
		&healthpb.HealthCheckResponse{},
		kitgrpc.ClientAfter(orcagrpc.ClientAfter(reports, addr))).Endpoint()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := ep(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if st := h.Stats().Load; st.Reports != 1 || st.Last.RPS != 25 {
		t.Errorf("host's load: %+v", st)
	}
}

// binaryReport encodes an OrcaLoadReport as gRPC's ORCA support does.
func binaryReport(cpu, app, rpsFrac, eps float64, rps uint64) []byte {
	var b []byte
	for _, f := range []struct {
		num protowire.Number
		v   float64
	}{{1, cpu}, {2, 0.7}, {6, rpsFrac}, {7, eps}, {9, app}} {
		if f.v != 0 {
			b = protowire.AppendTag(b, f.num, protowire.Fixed64Type)
			b = protowire.AppendFixed64(b, math.Float64bits(f.v))
		}
	}
	if rps != 0 {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, rps)
	}
	// named_metrics {"q": 3}: a map entry, skipped.
	entry := protowire.AppendTag(nil, 1, protowire.BytesType)
	entry = protowire.AppendString(entry, "q")
	entry = protowire.AppendTag(entry, 2, protowire.Fixed64Type)
	entry = protowire.AppendFixed64(entry, math.Float64bits(3))
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	return protowire.AppendBytes(b, entry)
}

// A server that reports the way gRPC's ORCA support does, in the binary
// trailer, is read too.
func TestBinaryTrailerFromARealServer(t *testing.T) {
	bin := binaryReport(0.4, 0, 0, 1, 50)
	addr := serve(t, func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		grpc.SetTrailer(ctx, metadata.Pairs(orcagrpc.BinaryTrailer, string(bin)))
		return resp, err
	})
	reports, h := linked(t, addr)
	cc := dial(t, addr, grpc.WithUnaryInterceptor(orcagrpc.UnaryClientInterceptor(reports, addr)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := h.Stats().Load.Last; got != (strategy.LoadReport{CPUUtilization: 0.4, RPS: 50, EPS: 1}) {
		t.Errorf("host's last report %+v (from the deprecated integer rps)", got)
	}
}

func TestParseBinary(t *testing.T) {
	got, err := orcagrpc.ParseBinary(binaryReport(0.3, 0.8, 12.5, 2, 99))
	if err != nil {
		t.Fatal(err)
	}
	if want := (strategy.LoadReport{CPUUtilization: 0.3, ApplicationUtilization: 0.8, RPS: 12.5, EPS: 2}); got != want {
		t.Errorf("ParseBinary = %+v, want %+v (rps_fractional before rps)", got, want)
	}
	for _, bad := range [][]byte{{0x09, 1, 2}, {0xff}, {0x42, 5, 'a'}} {
		if r, err := orcagrpc.ParseBinary(bad); !errors.Is(err, orca.ErrInvalidArgument) {
			t.Errorf("ParseBinary(%x) = %+v, %v; want ErrInvalidArgument", bad, r, err)
		}
	}
	var reports orca.Reports
	if err := orcagrpc.Report(&reports, "127.0.0.1:1", metadata.Pairs(orca.Header, "TEXT x=1")); !errors.Is(err, orca.ErrInvalidArgument) {
		t.Errorf("Report of a bad text trailer: %v", err)
	}
	if err := orcagrpc.Report(&reports, "127.0.0.1:1", metadata.MD{}); err != nil {
		t.Errorf("Report without a trailer: %v", err)
	}
}
