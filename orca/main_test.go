package orca_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Reporters own a goroutine; goleak checks that Close ends it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
