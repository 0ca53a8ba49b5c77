// Package statuspage serves what lbkit is doing as JSON and as a live HTML
// page: every balancer's hosts, its retrier, its discovery and its
// subset, every pool's counts, and charts of the last minutes from a history the server keeps,
// so an engineer who opens the page after an incident began sees it from
// before they opened it.
//
// # History
//
// A Page samples its balancers (and their retriers and subsets,
// WithRetrier and WithSubset) every
// DefaultHistoryResolution (1 s) into fixed-size rings covering
// DefaultHistoryWindow (15 minutes); WithHistory changes both. Per host it
// keeps, per interval: requests/s and error % (differences of the
// cumulative strategy.HostStats Requests and Failures), p50 and p99 latency
// (from the difference of two snapshots of strategy.HostStats.Latencies, a
// fixed log-bucket histogram), in flight, score and share; per balancer,
// retries, calls ended by an exhausted retry budget, hedges (per second,
// from retry.Stats), the instance count and the backends that entered or
// left its subset in the interval; and the add/remove markers (up to 256
// per balancer). A host that leaves keeps its rings, marked
// removed, until its last sample has left the window.
//
// The memory is fixed per host whatever the uptime: 7 series of
// window/resolution float32 values plus one latency histogram, about
// 28 KB per host with the defaults (28,333 bytes measured by
// TestHistoryMemoryPerHost with 20 hosts on one balancer, whose own 5
// series, 18 KB, it shares out among them; it also checks that the heap
// does not grow over three windows). The sampler is a goroutine owned by the Page: Close
// stops it (idempotent).
//
// # One definition of each figure
//
// The table and the charts show the same numbers. Score is
// strategy.HostStats.Score, the balancer's own score of the host in [0,1]
// (the pool table shows no score: a pooling.Service scores hosts for its
// own picker, which is not the balancer's). Share is the host's part of
// the requests the balancer completed in the interval. Requests/s, error
// %, p50 and p99 are of the interval too; requests and failures in the
// table count since the host appeared. A pool table's "lent" counts
// connections lent out of the pool, including those an http.Transport
// keeps idle between requests; the requests under way are the balancer's
// "in flight". Fields of strategy.HostStats the page does not know by name
// (such as an ejection or ramp-up state) are shown as they are, in extra
// columns (HostRow.State).
//
// # Endpoints
//
// The page is served at the root, the current state at status.json
// (Snapshot), the history at history.json (History; ?since=unix-ms for the
// samples after a time, which is how the page polls), and with controls,
// changes at control. The page's files are embedded in the binary and load
// nothing from the network, so it works offline. It is read-only unless
// the caller registers controls (WithControl), such as a pool's maximum
// size or a herd's size, which the page then offers to change.
//
// # Subsetting
//
// A balancer built on a subset.Publisher (deterministic subsetting) sees
// only its subset of the backends, so its host table is the subset.
// WithSubset adds, on one line above the table, what the table cannot
// show: the client's rank and count, the backends it uses of those
// discovery offers, how many backends have entered or left the subset and
// when it last changed (SubsetStatus; the addresses are in the line's
// tooltip), and a chart of the backends in or out per interval, the
// client's part of the fleet's connection churn.
//
// Instances without a host because their factory call failed are listed
// with the error (FactoryFailureRow), with the count of failed factory
// calls. Every invalid argument to New is an error wrapping
// ErrInvalidArgument.
package statuspage
