package orca

import (
	"sync"
	"sync/atomic"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// Reports routes load reports to the hosts of a balancer. A go-kit
// factory knows only an instance's address, the balancer owns its
// strategy.Host: the client hooks (ClientAfter, ClientFinalizer, and
// package orcagrpc's) hand each response's report to Reports under the
// instance's address, and Reports passes it to the host of that address,
// which it learns from the balancer (loadbalancer.WithHostWatcher(reports)
// calls SetHosts whenever the set changes).
//
// A report is one atomic load, one read of an immutable map and the host's
// ReportLoad: no lock, no allocation. A report for an address the balancer
// does not have (yet, or any more) is dropped. The zero value is ready to
// use. Give each balancer its own Reports: SetHosts replaces the hosts.
type Reports struct {
	hosts   atomic.Pointer[map[string]*strategy.Host]
	mu      sync.Mutex // serialises SetHosts
	dropped atomic.Uint64
	invalid atomic.Uint64
}

// SetHosts makes hosts the ones reports go to, replacing those of the
// previous call. The load balancer calls it (see Reports); it implements
// loadbalancer.HostWatcher.
func (r *Reports) SetHosts(hosts []*strategy.Host) {
	m := make(map[string]*strategy.Host, len(hosts))
	for _, h := range hosts {
		m[h.Address()] = h
	}
	r.mu.Lock()
	r.hosts.Store(&m)
	r.mu.Unlock()
}

// Host returns the host of address, or nil.
func (r *Reports) Host(address string) *strategy.Host {
	m := r.hosts.Load()
	if m == nil {
		return nil
	}
	return (*m)[address]
}

// Report hands l to the host of address, and reports whether there was
// one.
func (r *Reports) Report(address string, l strategy.LoadReport) bool {
	h := r.Host(address)
	if h == nil {
		r.dropped.Add(1)
		return false
	}
	h.ReportLoad(l)
	return true
}

// ReportHeader parses value, an endpoint-load-metrics header or trailer,
// and hands the report to the host of address. An empty value (the
// backend sent none) is nothing to report and no error; a value Parse
// rejects is an error wrapping ErrInvalidArgument, and is counted in
// Stats. It allocates nothing for a valid value; named metrics are not
// kept.
func (r *Reports) ReportHeader(address, value string) error {
	if value == "" {
		return nil
	}
	l, err := parseReport(value)
	if err != nil {
		r.invalid.Add(1)
		return err
	}
	r.Report(address, l)
	return nil
}

// ReportsStats counts what Reports could not deliver.
type ReportsStats struct {
	// Hosts is the number of hosts reports go to.
	Hosts int
	// Dropped counts reports for an address without a host; Invalid
	// header values that did not parse.
	Dropped, Invalid uint64
}

// Stats returns what Reports could not deliver.
func (r *Reports) Stats() ReportsStats {
	s := ReportsStats{Dropped: r.dropped.Load(), Invalid: r.invalid.Load()}
	if m := r.hosts.Load(); m != nil {
		s.Hosts = len(*m)
	}
	return s
}
