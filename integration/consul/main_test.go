package consul

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that nothing the tests started (publisher and registrar
// goroutines, HTTP connections, the agent's process waiters) survives them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
