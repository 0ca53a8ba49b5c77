package etcd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/seed41aebe0c/lbkit/integration/internal/lbtest"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	etcdpub "github.com/seed41aebe0c/lbkit/publisher/etcd"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// TestTLSAndAuth: against a member that serves clients over TLS only and
// has authentication on, a registrar and a publisher whose client carries
// the CA and a user name and password (all in clientv3.Config) work, and a
// client without credentials gets its error published, not a panic or an
// empty set.
func TestTLSAndAuth(t *testing.T) {
	tlsInfo, pool := selfSigned(t)
	srv := startServer(t, tlsInfo)
	tlsConfig := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}

	root := srv.client(t, tlsConfig, "", "")
	steps := []func() error{
		func() error { _, err := root.RoleAdd(ctx(t), "svc"); return err },
		func() error {
			_, err := root.RoleGrantPermission(ctx(t), "svc", prefix, clientv3.GetPrefixRangeEnd(prefix), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := root.UserAdd(ctx(t), "lbkit", "s3cret"); return err },
		func() error { _, err := root.UserGrantRole(ctx(t), "lbkit", "svc"); return err },
		func() error { _, err := root.UserAdd(ctx(t), "root", "rootpw"); return err },
		func() error { _, err := root.UserGrantRole(ctx(t), "root", "root"); return err },
		func() error { _, err := root.AuthEnable(ctx(t)); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("auth setup step %d: %v", i, err)
		}
	}

	cli := srv.client(t, tlsConfig, "lbkit", "s3cret")
	a := startBackend(t, "a")
	reg, err := etcdpub.NewRegistrar(cli, prefix+a.addr, publisher.Instance{Address: a.addr}, etcdpub.WithTTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Stop()
	if err := reg.Register(ctx(t)); err != nil {
		t.Fatalf("register over TLS with a password: %v", err)
	}
	pub, err := etcdpub.NewPublisher(cli, prefix, pubOpts...)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	bal, err := loadbalancer.New(pub, httpFactory(nil, nil), loadbalancer.WithStrategy(strategy.RoundRobin{}))
	if err != nil {
		t.Fatal(err)
	}
	defer bal.Close()
	lbtest.WaitHosts(t, bal, a.addr)
	if got := lbtest.CallN(t, bal, 3); got["a"] != 3 {
		t.Fatalf("calls %v", got)
	}

	// The same TLS, no user: etcd refuses, and the publisher says so.
	anon := srv.client(t, tlsConfig, "", "")
	bad, err := etcdpub.NewPublisher(anon, prefix, pubOpts...)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Stop()
	ev := waitEvent(t, bad.Subscribe(), func(ev publisher.Event) bool { return ev.Err != nil })
	if !errors.Is(ev.Err, etcdpub.ErrUnavailable) || !errors.Is(ev.Err, rpctypes.ErrUserEmpty) {
		t.Fatalf("anonymous publisher's error %v: want ErrUnavailable wrapping etcd's ErrUserEmpty", ev.Err)
	}
	if len(ev.Instances) != 0 {
		t.Fatalf("anonymous publisher published %v", ev.Instances)
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and returns
// the member's TLS settings and a pool that trusts it.
func selfSigned(t *testing.T) (*transport.TLSInfo, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "lbkit test etcd"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &transport.TLSInfo{CertFile: certFile, KeyFile: keyFile}, pool
}
