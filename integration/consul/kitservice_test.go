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
