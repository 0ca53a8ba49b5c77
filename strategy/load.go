package strategy

import (
	"math"
	"sync/atomic"
	"time"
)

// LoadReport is what a backend says about its own load, in the terms of
// ORCA (Open Request Cost Aggregation), the load report that Envoy and gRPC
// read from the endpoint-load-metrics response header or trailer: package
// orca parses it and hands it to Host.ReportLoad. Zero means "not
// reported", as in ORCA's protocol buffer.
type LoadReport struct {
	// CPUUtilization is the backend's CPU use as a fraction of what it
	// may use (ORCA cpu_utilization; may exceed 1 under a soft limit).
	CPUUtilization float64
	// ApplicationUtilization is a utilization the application computes
	// itself (ORCA application_utilization); where set it takes the place
	// of CPUUtilization, as in gRPC's weighted_round_robin.
	ApplicationUtilization float64
	// RPS is the requests per second the backend serves (ORCA
	// rps_fractional, gRPC's qps).
	RPS float64
	// EPS is the errors per second among them (ORCA eps).
	EPS float64
}

// Utilization is ApplicationUtilization if set, else CPUUtilization: the
// utilization gRPC's weighted_round_robin (gRFC A58) divides by.
func (r LoadReport) Utilization() float64 {
	if r.ApplicationUtilization > 0 {
		return r.ApplicationUtilization
	}
	return r.CPUUtilization
}

// usable reports whether a report can weigh its host: gRPC's
// weighted_round_robin ignores one without both utilization and RPS.
func (r LoadReport) usable() bool {
	u := r.Utilization()
	return u > 0 && r.RPS > 0 && !math.IsInf(u, 0) && !math.IsInf(r.RPS, 0) && r.EPS >= 0 && !math.IsInf(r.EPS, 0)
}

// LoadStats is the snapshot of what a host has reported about its load
// (HostStats.Load).
type LoadStats struct {
	// Last is the last usable report: one with both a utilization and an
	// RPS (a report without them is counted in Ignored and changes
	// nothing else, as in gRPC's weighted_round_robin).
	Last LoadReport
	// Reports counts the reports received; Ignored those that were not
	// usable.
	Reports, Ignored uint64
	// Age is how long ago Last arrived (0 if never).
	Age time.Duration
	// ReportingFor is how long the host has reported without a gap longer
	// than a weighted strategy's expiration period: the time a blackout
	// period is measured against (0 if the current run has not begun).
	ReportingFor time.Duration
}

// hostLoad is the reported load of a Host: atomics only, so that a report
// (on a call's return path) and a weight refresh take no lock. A refresh
// that reads the four values while a report writes them may see a mixture
// of two consecutive reports, which is as good a weight as either.
type hostLoad struct {
	cpu, app, rps, eps atomic.Uint64 // float64 bits of the last usable report
	reports, ignored   atomic.Uint64
	at                 atomic.Int64 // clock of the last usable report, 0 if none
	since              atomic.Int64 // clock of the first report of the current run, 0 if none
}

// ReportLoad records what the backend reported about its load (package
// orca's client hooks call it with each response's endpoint-load-metrics).
// A report without both a utilization and an RPS, or with a negative,
// infinite or NaN value, is counted and otherwise ignored, as gRPC's
// weighted_round_robin does. It takes no lock and allocates nothing.
func (s *Host) ReportLoad(r LoadReport) {
	l := &s.load
	l.reports.Add(1)
	if !r.usable() || r.CPUUtilization < 0 || r.ApplicationUtilization < 0 {
		l.ignored.Add(1)
		return
	}
	now := s.clock()
	if now == 0 {
		now = 1 // 0 means "never"
	}
	l.cpu.Store(math.Float64bits(r.CPUUtilization))
	l.app.Store(math.Float64bits(r.ApplicationUtilization))
	l.rps.Store(math.Float64bits(r.RPS))
	l.eps.Store(math.Float64bits(r.EPS))
	l.at.Store(now)
	l.since.CompareAndSwap(0, now)
}

// last returns the last usable report.
func (l *hostLoad) last() LoadReport {
	return LoadReport{
		CPUUtilization:         math.Float64frombits(l.cpu.Load()),
		ApplicationUtilization: math.Float64frombits(l.app.Load()),
		RPS:                    math.Float64frombits(l.rps.Load()),
		EPS:                    math.Float64frombits(l.eps.Load()),
	}
}

// loadWeight is gRFC A58's weight of the host as of now: RPS / (utilization
// + EPS/RPS × penalty) from the last usable report, or 0 when there is none,
// when it is older than expire (which also ends the current run of
// reports, so that the blackout applies again when reports resume), or
// when the run is younger than blackout. A non-positive expire or blackout
// disables it.
func (s *Host) loadWeight(now, blackout, expire int64, penalty float64) float64 {
	l := &s.load
	at := l.at.Load()
	if at == 0 {
		return 0
	}
	if expire > 0 && now-at >= expire {
		if since := l.since.Load(); since != 0 && l.at.Load() == at {
			l.since.CompareAndSwap(since, 0)
		}
		return 0
	}
	if blackout > 0 {
		since := l.since.Load()
		if since == 0 || now-since < blackout {
			return 0
		}
	}
	r := l.last()
	u := r.Utilization()
	if r.RPS <= 0 || u <= 0 {
		return 0
	}
	if penalty > 0 {
		u += r.EPS / r.RPS * penalty
	}
	return r.RPS / u
}

// loadStats is the snapshot of the host's reported load as of now.
func (s *Host) loadStats(now int64) LoadStats {
	l := &s.load
	st := LoadStats{Last: l.last(), Reports: l.reports.Load(), Ignored: l.ignored.Load()}
	if at := l.at.Load(); at != 0 && now > at {
		st.Age = time.Duration(now - at)
	}
	if since := l.since.Load(); since != 0 && now > since {
		st.ReportingFor = time.Duration(now - since)
	}
	return st
}
