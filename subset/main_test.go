package subset_test

import (
	"testing"

	"go.uber.org/goleak"
)

// A subsetting publisher runs a goroutine; goleak checks that Stop ends it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
