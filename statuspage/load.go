package statuspage

import "github.com/seed41aebe0c/lbkit/strategy"

// LoadRow is the page's JSON view of what a host reported about its own
// load (strategy.HostStats.Load, fed by package orca).
type LoadRow struct {
	CPUUtilization         float64 `json:"cpuUtilization"`
	ApplicationUtilization float64 `json:"applicationUtilization"`
	RPS                    float64 `json:"rps"`
	EPS                    float64 `json:"eps"`
	Reports                uint64  `json:"reports"`
	Ignored                uint64  `json:"ignored"`
	AgeMs                  float64 `json:"ageMs"`
	ReportingForMs         float64 `json:"reportingForMs"`
}

// loadRow is the row of l, or nil for a host that never reported.
func loadRow(l strategy.LoadStats) *LoadRow {
	if l.Reports == 0 {
		return nil
	}
	return &LoadRow{
		CPUUtilization: l.Last.CPUUtilization, ApplicationUtilization: l.Last.ApplicationUtilization,
		RPS: l.Last.RPS, EPS: l.Last.EPS, Reports: l.Reports, Ignored: l.Ignored,
		AgeMs: l.Age.Seconds() * 1000, ReportingForMs: l.ReportingFor.Seconds() * 1000,
	}
}
