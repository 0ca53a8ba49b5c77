package loadbalancer

import (
	"errors"
	"fmt"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// ErrInvalidLatencyTarget is wrapped by the error LatencyScorer returns for
// a target that is not a positive duration.
var ErrInvalidLatencyTarget = errors.New("loadbalancer: latency target must be positive")

// LatencyScorer returns a Scorer that rates calls by speed as well as by
// success: an error scores 0 (strategy.HostDown) and counts as a failure; a
// success within target scores 1 (strategy.HostUp), and a slower one
// target/latency, so half at twice the target and a tenth at ten times it.
//
// The bandit strategies (EpsilonGreedy, Softmax, UCB1, Thompson) know a host
// only by its score, so with ErrorScorer they cannot tell a slow host from
// a fast one; with LatencyScorer they prefer hosts that are fast as well as
// healthy, and, since a host that queues requests slows down, they see load
// too. Set target near the latency a healthy host achieves under normal load
// (its 90th percentile, say). PeakEWMA measures latency itself and needs no
// latency scorer. A target of zero or less is an error wrapping
// ErrInvalidLatencyTarget.
func LatencyScorer(target time.Duration) (Scorer, error) {
	if target <= 0 {
		return nil, fmt.Errorf("%w: got %v", ErrInvalidLatencyTarget, target)
	}
	t := float64(target)
	return func(err error, latency time.Duration) (float64, bool) {
		if err != nil {
			return strategy.HostDown, true
		}
		if latency <= target {
			return strategy.HostUp, false
		}
		return t / float64(latency), false
	}, nil
}
