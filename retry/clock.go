package retry

import "time"

// epoch anchors the package clock. Budgets and the latency tracker keep
// times as nanoseconds since it, which lets simulations drive them with a
// clock of their own.
var epoch = time.Now()

// clock reads the monotonic clock as nanoseconds since epoch.
func clock() int64 { return int64(time.Since(epoch)) }

// sinceEpoch converts a time read with time.Now to the package clock without
// reading the clock again.
func sinceEpoch(t time.Time) int64 { return int64(t.Sub(epoch)) }

// onClock converts a time on the package clock to a time.Time that carries
// a monotonic reading, so that context.WithDeadline and time.Until measure
// it on the monotonic clock like any deadline made from time.Now.
func onClock(t int64) time.Time { return epoch.Add(time.Duration(t)) }
