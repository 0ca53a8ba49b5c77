package strategy_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Strategies start no goroutine but WeightedRoundRobin's rebuild, which
// ends by itself; goleak keeps it that way.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
