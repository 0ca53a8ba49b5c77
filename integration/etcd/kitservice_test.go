package etcd

import (
	"strings"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/integration/internal/example"
)

// TestKitServiceExampleOverEtcd runs examples/kitservice against a real etcd:
// go-kit service instances register themselves, a go-kit client reaches them
// through publisher → balancer → retry, and one instance leaving half way
// costs no request.
func TestKitServiceExampleOverEtcd(t *testing.T) {
	srv := startServer(t, nil)
	bin := example.Build(t, "kitservice")
	addr := strings.TrimPrefix(srv.endpoint(), "http://")
	out, errOut, err := example.Run(t, 2*time.Minute, bin, "-registry", "etcd", "-etcd", addr, "-requests", "400")
	if err != nil {
		t.Fatalf("kitservice: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	example.CheckKitService(t, out, 400)
}

// TestDemoOverEtcd runs examples/demo with -discovery etcd: its backends
// register in a real etcd and every strategy's balancer finds them there.
func TestDemoOverEtcd(t *testing.T) {
	srv := startServer(t, nil)
	bin := example.Build(t, "demo")
	addr := strings.TrimPrefix(srv.endpoint(), "http://")
	out, errOut, err := example.Run(t, 3*time.Minute, bin, "-discovery", "etcd", "-etcd", addr, "-requests", "200", "-svg", "")
	if err != nil {
		t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	example.CheckDemo(t, out)
}
