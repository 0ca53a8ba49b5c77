package main

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs the example with each strategy it offers.
func TestRun(t *testing.T) {
	for _, name := range []string{"round-robin", "epsilon-greedy", "softmax"} {
		if err := run(name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}
