//go:build !unix

package orca

import (
	"errors"
	"time"
)

// processCPU is not available here: the Reporter reports no CPU
// utilization.
func processCPU() (time.Duration, error) { return 0, errors.ErrUnsupported }
