package strategy

import "time"

// Hooks into a host's internals for the external tests, which drive the
// statistics on a clock of their own: an observation at an explicit time
// with an explicit latency (what Begin and Record do together, minus the
// in-flight count), and the statistics as of an explicit time.

// Observe records an outcome at now, as Record would.
func Observe(h *Host, now int64, latency time.Duration, failed bool, score float64) {
	h.observe(now, latency, failed, score)
}

// Observations is the host's decayed number of observations as of now.
func Observations(h *Host, now int64) float64 { return h.observations(now) }

// PeakLatency is the host's peak-sensitive latency average as of now.
func PeakLatency(h *Host, now int64) time.Duration { return h.peakLatency(now) }

// RecentScore is the host's short-window score and the decayed number of
// observations behind it, as of now.
func RecentScore(h *Host, now int64) (score, observations float64) { return h.recentScore(now) }

// Now reads the host's clock.
func Now(h *Host) int64 { return h.clock() }
