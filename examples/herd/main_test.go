package main

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs the example as `go run ./examples/herd` does, smaller.
func TestRun(t *testing.T) {
	if err := run(60, 4); err != nil {
		t.Fatal(err)
	}
}
