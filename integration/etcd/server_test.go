package etcd

import (
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// startTimeout bounds the wait for an embedded server to be ready. It is
// ready in about 0.1s; the margin is for a loaded 2-core machine under -race.
const startTimeout = 30 * time.Second

// server is one embedded etcd member on 127.0.0.1. Its data directory and
// ports survive stop and start, so a restarted server is where the old one
// was and holds what it held, as a restarted production member does.
type server struct {
	t         *testing.T
	dir       string
	clientURL url.URL
	peerURL   url.URL
	tls       *transport.TLSInfo

	mu      sync.Mutex
	e       *embed.Etcd
	running bool
}

// startServer starts a member on free ports with a fresh data directory.
// With tlsInfo, clients must use https and that certificate.
func startServer(t *testing.T, tlsInfo *transport.TLSInfo) *server {
	t.Helper()
	scheme := "http"
	if tlsInfo != nil {
		scheme = "https"
	}
	s := &server{
		t:         t,
		dir:       t.TempDir(),
		clientURL: url.URL{Scheme: scheme, Host: freeAddr(t)},
		peerURL:   url.URL{Scheme: "http", Host: freeAddr(t)},
		tls:       tlsInfo,
	}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
// etcd's embed config needs the port before it listens, and a restart needs
// the same one, so port 0 would not do.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (s *server) config() *embed.Config {
	cfg := embed.NewConfig()
	cfg.Name = "lbkit"
	cfg.Dir = s.dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	// Short heartbeat and election: a single member elects itself at once.
	cfg.TickMs = 10
	cfg.ElectionMs = 100
	cfg.UnsafeNoFsync = true // test data, no durability needed
	// The cheapest password hashing: at the default cost a check takes long
	// enough under -race that one still runs inside the stopped server when
	// goleak looks.
	cfg.BcryptCost = 4
	cfg.ListenClientUrls = []url.URL{s.clientURL}
	cfg.AdvertiseClientUrls = []url.URL{s.clientURL}
	cfg.ListenPeerUrls = []url.URL{s.peerURL}
	cfg.AdvertisePeerUrls = []url.URL{s.peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ListenMetricsUrls = nil
	if s.tls != nil {
		cfg.ClientTLSInfo = *s.tls
	}
	return cfg
}

// start starts the member (again), waiting until it serves.
func (s *server) start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return
	}
	var (
		e   *embed.Etcd
		err error
	)
	// The ports were free when chosen and again after a stop, but the
	// kernel can take a moment to release them: retry briefly.
	deadline := time.Now().Add(startTimeout)
	for {
		e, err = embed.StartEtcd(s.config())
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("etcd: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		s.t.Fatalf("etcd: %v", err)
	case <-time.After(startTimeout):
		e.Close()
		s.t.Fatalf("etcd not ready within %v", startTimeout)
	}
	s.e, s.running = e, true
}

// stop stops the member and waits for it to be gone.
func (s *server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return
	}
	s.e.Close()
	s.running = false
}

// endpoint is the client URL.
func (s *server) endpoint() string { return s.clientURL.String() }

// client returns a client of this member, closed at the end of the test.
// The gRPC reconnect back-off is capped at 500ms (gRPC's default grows to
// two minutes), so that a restarted server is found again quickly: what a
// user who wants fast recovery sets too.
func (s *server) client(t *testing.T, tlsConfig *tls.Config, user, password string) *clientv3.Client {
	t.Helper()
	return newClient(t, s.endpoint(), tlsConfig, user, password)
}

// newClient returns a client of endpoint, closed at the end of the test.
func newClient(t *testing.T, endpoint string, tlsConfig *tls.Config, user, password string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{endpoint},
		DialTimeout: 10 * time.Second,
		TLS:         tlsConfig,
		Username:    user,
		Password:    password,
		Logger:      zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 500 * time.Millisecond},
			MinConnectTimeout: time.Second,
		})},
	})
	if err != nil {
		t.Fatalf("etcd client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// ctx returns a context bounded for one request in a test.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}
