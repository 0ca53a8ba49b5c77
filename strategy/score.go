package strategy

import "math"

// All-or-nothing outcome scores, as pooly predefines them: a scorer that
// knows only whether a call worked gives HostUp or HostDown.
const (
	// HostDown is the score of a call that failed.
	HostDown float64 = 0
	// HostUp is the score of a call that fully succeeded.
	HostUp float64 = 1
)

// ScoreFunc maps a host's time-decayed mean score, in [0,1], to the value a
// bandit strategy ranks it by, also in [0,1] (results outside are clamped).
// It is pooly's Computer: for example func(s float64) float64 { return s * s }
// widens the gap between a host that fails 10% of its calls and one that
// never fails. It runs when a picker refreshes its table, not per pick.
type ScoreFunc func(score float64) float64

// estimate returns what the bandits know of host h at now: its mean score
// mapped through f (if any) and the decayed number of observations behind it.
func estimate(h *Stats, f ScoreFunc, now int64) (mean, n float64) {
	mean = h.Score()
	if f != nil {
		mean = f(mean)
		if !(mean > 0) { // also NaN
			mean = 0
		}
		mean = math.Min(mean, 1)
	}
	return mean, h.Observations(now)
}

// optimistic is the mean with one pseudo-observation of a perfect score
// added: an unknown host (n = 0) is rated 1 and so is tried, and a host whose
// observations have faded with time drifts back towards 1 and is tried
// again, while a well-observed host is rated by its record.
func optimistic(mean, n float64) float64 { return (mean*n + 1) / (n + 1) }
