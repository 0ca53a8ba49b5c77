package strategy_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Strategies start no goroutine; goleak keeps it that way.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
