package subset

import (
	"fmt"
	"slices"

	"github.com/go-kit/kit/metrics"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
)

// Metrics are a subsetting Publisher's metrics, through go-kit's metrics
// interfaces; package lbmetrics builds them for Prometheus and statsd.
// Nil fields are not recorded.
type Metrics struct {
	// Rank and Clients are the client's coordinate in force: its rank
	// among Clients clients (Stats.Rank, -1 until the peers are known,
	// and Stats.Count).
	Rank, Clients metrics.Gauge
	// Backends is how many backends the upstream publisher offers, and
	// Subset how many of them this client uses now.
	Backends, Subset metrics.Gauge
	// Changes counts backends that entered or left this client's subset
	// since SetMetrics: its part of the fleet's connection churn when
	// backends or clients come and go.
	Changes metrics.Counter
}

// SetMetrics makes p record into m from now on: the gauges at once and on
// every change, Changes from zero. A nil m turns recording off. A field of
// m holding a typed nil is an error wrapping ErrInvalidArgument, and
// leaves the metrics as they were. (A publisher's SetMetrics takes
// discovery metrics; these are the subset's own.)
func (p *Publisher) SetMetrics(m *Metrics) error {
	if m != nil {
		if why := nilarg.NilField(m); why != "" {
			return fmt.Errorf("%w: %s", ErrInvalidArgument, why)
		}
		mc := *m
		m = &mc
		if m.Changes != nil {
			m.Changes.Add(0)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m = m
	p.recordLocked(0)
	return nil
}

// recordLocked sets the gauges from p.stats and adds changed to Changes.
// Called with p.mu held.
func (p *Publisher) recordLocked(changed int) {
	m := p.m
	if m == nil {
		return
	}
	set := func(g metrics.Gauge, v int) {
		if g != nil {
			g.Set(float64(v))
		}
	}
	set(m.Rank, p.stats.Rank)
	set(m.Clients, p.stats.Count)
	set(m.Backends, p.stats.Backends)
	set(m.Subset, len(p.stats.Subset))
	if changed > 0 && m.Changes != nil {
		m.Changes.Add(float64(changed))
	}
}

// symmetricDifference returns how many addresses are in exactly one of a
// and b, both sorted and distinct.
func symmetricDifference(a, b []string) int {
	n, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			i++
			j++
		case a[i] < b[j]:
			n++
			i++
		default:
			n++
			j++
		}
	}
	return n + len(a) - i + len(b) - j
}

func sortedCopy(s []string) []string { return slices.Sorted(slices.Values(s)) }
