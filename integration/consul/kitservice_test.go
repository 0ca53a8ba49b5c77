package consul

import (
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/integration/internal/example"
)

// TestKitServiceExampleOverConsul runs examples/kitservice against a real
// Consul agent: go-kit service instances register themselves with TTL
// checks, a go-kit client reaches them through publisher → balancer → retry,
// and one instance leaving half way costs no request.
func TestKitServiceExampleOverConsul(t *testing.T) {
	a := startAgent(t)
	bin := example.Build(t, "kitservice")
	out, errOut, err := example.Run(t, 2*time.Minute, bin, "-registry", "consul", "-consul", a.Addr(), "-requests", "400")
	if err != nil {
		t.Fatalf("kitservice: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	example.CheckKitService(t, out, 400)
}

// TestDemoOverConsul runs examples/demo with -discovery consul: its backends
// register with a real Consul agent and every strategy's balancer finds them
// there.
func TestDemoOverConsul(t *testing.T) {
	a := startAgent(t)
	bin := example.Build(t, "demo")
	out, errOut, err := example.Run(t, 3*time.Minute, bin, "-discovery", "consul", "-consul", a.Addr(), "-requests", "200", "-svg", "")
	if err != nil {
		t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	example.CheckDemo(t, out)
}
