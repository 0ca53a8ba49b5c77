package static_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The static publisher starts no goroutine; goleak keeps it that way.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
