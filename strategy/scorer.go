package strategy

import (
	"fmt"
	"math"
	"time"
)

// All-or-nothing outcome scores, as pooly predefines them: a scorer that
// knows only whether a call worked gives HostUp or HostDown.
const (
	// HostDown is the score of a call that failed.
	HostDown float64 = 0
	// HostUp is the score of a call that fully succeeded.
	HostUp float64 = 1
)

// Scorer maps one call's outcome to a score in [0,1] for the host's
// statistics, and says whether the call counts as a failure. It is lbkit's
// one score hook: the load balancer, the connection pools' Service and the
// simulator all score calls through it (WithScorer). It is not called for
// calls the caller cancelled (see Host.Record).
type Scorer func(err error, latency time.Duration) (score float64, failed bool)

// ErrorScorer is the default Scorer: success scores HostUp, any error
// HostDown and counts as a failure.
func ErrorScorer(err error, _ time.Duration) (float64, bool) {
	if err != nil {
		return HostDown, true
	}
	return HostUp, false
}

// LatencyScorer returns a Scorer that rates calls by speed as well as by
// success: an error scores HostDown and counts as a failure; a success
// within target scores HostUp, and a slower one target/latency, so half at
// twice the target and a tenth at ten times it.
//
// The bandit strategies (EpsilonGreedy, Softmax, UCB1, Thompson) know a host
// only by its score, so with ErrorScorer they cannot tell a slow host from a
// fast one; with LatencyScorer they prefer hosts that are fast as well as
// healthy, and, since a host that queues requests slows down, they see load
// too. Set target near the latency a healthy host achieves under normal load
// (its 90th percentile, say). PeakEWMA measures latency itself and needs no
// latency scorer. A target of zero or less is an error wrapping
// ErrInvalidArgument.
func LatencyScorer(target time.Duration) (Scorer, error) {
	if target <= 0 {
		return nil, fmt.Errorf("%w: latency target %v is not positive", ErrInvalidArgument, target)
	}
	t := float64(target)
	return func(err error, latency time.Duration) (float64, bool) {
		if err != nil {
			return HostDown, true
		}
		if latency <= target {
			return HostUp, false
		}
		return t / float64(latency), false
	}, nil
}

// estimate returns what the bandits know of host h at now: the mean score
// of its recent record (see WithMaxObservations) mapped through transform
// (if any; pooly's Computer) and the faded weight of the observations
// behind it.
func estimate(h *Host, transform func(float64) float64, now int64) (mean, n float64) {
	mean, n = h.recentScore(now)
	return transformed(mean, transform), n
}

// estimateFrom is the long window's mean score given and the long
// window's decayed number of observations, as UCB1 reads them.
func estimateFrom(h *Host, mean float64, transform func(float64) float64, now int64) (float64, float64) {
	return transformed(mean, transform), h.observations(now)
}

func transformed(mean float64, transform func(float64) float64) float64 {
	if transform != nil {
		mean = transform(mean)
		if !(mean > 0) { // also NaN
			mean = 0
		}
		mean = math.Min(mean, 1)
	}
	return mean
}

// optimistic is the mean with one pseudo-observation of a perfect score
// added: an unknown host (n = 0) is rated 1 and so is tried, and a host whose
// observations have faded with time drifts back towards 1 and is tried
// again, while a well-observed host is rated by its record.
func optimistic(mean, n float64) float64 { return (mean*n + 1) / (n + 1) }
