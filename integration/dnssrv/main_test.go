package dnssrv

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that nothing the tests started (the publisher's poller,
// the DNS server's goroutines, HTTP connections) survives them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
