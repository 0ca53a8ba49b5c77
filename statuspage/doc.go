// Package statuspage serves what lbkit is doing as JSON and as a live HTML
// page: every balancer's hosts with their weight, score, in-flight calls,
// latency and traffic share, every pool's counts, and a chart of traffic
// share and latency over the last minutes, refreshed in place.
//
// The page's files are embedded in the binary and load nothing from the
// network, so it works offline. It is read-only unless the caller registers
// controls (WithControl), such as a pool's maximum size or a herd's size,
// which the page then offers to change.
//
// Each balancer's hosts are shown from their strategy.HostStats snapshots,
// through HostRow, the page's JSON view of one; instances without a host
// because their factory call failed are listed with the error
// (FactoryFailureRow), with the count of failed factory calls. Every
// invalid argument to New is an error wrapping ErrInvalidArgument.
package statuspage
