package etcd

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that nothing the tests started (publisher and registrar
// goroutines, etcd clients, the embedded server, HTTP connections)
// survives them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
