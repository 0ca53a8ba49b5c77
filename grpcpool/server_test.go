package grpcpool_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/status"

	"github.com/seed41aebe0c/lbkit/grpcpool"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server is a real gRPC server on 127.0.0.1 offering grpc's health service
// and grpc's interop TestService, counting the unary calls it serves and
// the client connections (peers) they came from.
type server struct {
	addr  string
	srv   *grpc.Server
	calls atomic.Int64

	mu    sync.Mutex
	peers map[string]bool
}

// startServer listens on addr ("127.0.0.1:0" for a fresh port, or the
// address of a server that was stopped, to restart it).
func startServer(t testing.TB, addr string) *server {
	t.Helper()
	var lis net.Listener
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Rebinding the port of a just-stopped server may need a moment.
		if lis, err = net.Listen("tcp", addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	s := &server{addr: lis.Addr().String(), peers: map[string]bool{}}
	s.srv = grpc.NewServer(
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}),
		grpc.ChainUnaryInterceptor(s.count),
	)
	healthpb.RegisterHealthServer(s.srv, health.NewServer())
	testpb.RegisterTestServiceServer(s.srv, testService{})
	go func() { _ = s.srv.Serve(lis) }()
	t.Cleanup(s.srv.Stop)
	return s
}

func (s *server) count(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	s.calls.Add(1)
	if p, ok := peer.FromContext(ctx); ok {
		s.mu.Lock()
		s.peers[p.Addr.String()] = true
		s.mu.Unlock()
	}
	return h(ctx, req)
}

func (s *server) peerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.peers)
}

// testService streams back what StreamingOutputCall asks for, sums what
// StreamingInputCall receives, and echoes FullDuplexCall. A request whose
// first response size is negative gets an error status.
type testService struct {
	testpb.UnimplementedTestServiceServer
}

// UnaryCall answers with a payload of the size asked for.
func (testService) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if req.GetResponseSize() < 0 {
		return nil, status.Error(codes.InvalidArgument, "negative size")
	}
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: make([]byte, req.GetResponseSize())}}, nil
}

func (testService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, st testpb.TestService_StreamingOutputCallServer) error {
	for _, rp := range req.GetResponseParameters() {
		if rp.GetSize() < 0 {
			return status.Error(codes.InvalidArgument, "negative size")
		}
		if err := st.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: make([]byte, rp.GetSize())}}); err != nil {
			return err
		}
	}
	return nil
}

func (testService) StreamingInputCall(st testpb.TestService_StreamingInputCallServer) error {
	var n int32
	for {
		req, err := st.Recv()
		if err == io.EOF {
			return st.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: n})
		}
		if err != nil {
			return err
		}
		n += int32(len(req.GetPayload().GetBody()))
	}
}

func (testService) FullDuplexCall(st testpb.TestService_FullDuplexCallServer) error {
	for {
		req, err := st.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := st.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

// pinResolver maps its scheme's target to one address per connection,
// taking the addresses in turn, so that the connections of one pool are
// spread over several servers the way a DNS name with several records
// would spread them, but deterministically: connection k talks only to
// addrs[k mod len(addrs)]. grpc builds a resolver once per ClientConn.
type pinResolver struct {
	addrs []string
	n     atomic.Int64
}

func (r *pinResolver) Scheme() string { return "pin" }

func (r *pinResolver) Build(_ resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	i := int(r.n.Add(1)-1) % len(r.addrs)
	if err := cc.UpdateState(resolver.State{Addresses: []resolver.Address{{Addr: r.addrs[i]}}}); err != nil {
		return nil, err
	}
	return nopResolver{}, nil
}

type nopResolver struct{}

func (nopResolver) ResolveNow(resolver.ResolveNowOptions) {}
func (nopResolver) Close()                                {}

// pinned returns pool options whose connections take addrs in turn, with a
// short reconnection back-off so a restarted server is found quickly.
func pinned(addrs ...string) grpcpool.Option {
	return grpcpool.WithDialOptions(
		grpc.WithResolvers(&pinResolver{addrs: addrs}),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 200 * time.Millisecond},
			MinConnectTimeout: 2 * time.Second,
		}),
	)
}

const pinTarget = "pin:///backends"

func newPool(t testing.TB, target string, opts ...grpcpool.Option) *grpcpool.Pool {
	t.Helper()
	p, err := grpcpool.New(target, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countState(p *grpcpool.Pool, s connectivity.State) int {
	n := 0
	for _, c := range p.State().Conns {
		if c.State == s {
			n++
		}
	}
	return n
}

func allReady(p *grpcpool.Pool) func() bool {
	return func() bool { return countState(p, connectivity.Ready) == p.State().Size }
}

func check(ctx context.Context, c healthpb.HealthClient) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := c.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return errors.New("not serving: " + resp.GetStatus().String())
	}
	return nil
}

// traffic keeps workers calling Check until stopped, bounded in count and
// time, recording every failure.
type traffic struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	firstErr   error
	stop       chan struct{}
	once       sync.Once
	wg         sync.WaitGroup
}

func startTraffic(c healthpb.HealthClient, workers int, maxCalls int64, maxTime time.Duration) *traffic {
	tr := &traffic{stop: make(chan struct{})}
	end := time.Now().Add(maxTime)
	for range workers {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			for tr.ok.Load()+tr.failed.Load() < maxCalls && time.Now().Before(end) {
				select {
				case <-tr.stop:
					return
				default:
				}
				if err := check(context.Background(), c); err != nil {
					tr.failed.Add(1)
					tr.mu.Lock()
					if tr.firstErr == nil {
						tr.firstErr = err
					}
					tr.mu.Unlock()
					continue
				}
				tr.ok.Add(1)
			}
		}()
	}
	return tr
}

func (tr *traffic) halt() {
	tr.once.Do(func() { close(tr.stop) })
	tr.wg.Wait()
}
