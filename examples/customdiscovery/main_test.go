package main

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestMainRuns runs the example: it must see the file's second version.
func TestMainRuns(t *testing.T) { main() }
