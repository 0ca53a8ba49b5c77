package statuspage

import (
	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/pooling"
)

// ServiceSource is what the page needs of a connection service;
// *pooling.Service[C] satisfies it for any connection type C.
type ServiceSource interface {
	Status() pooling.ServiceStatus
}

// WithService shows a pooling.Service as a pool table under name: per host,
// its pool's counts. A nil s (typed nil included) is an error wrapping
// ErrInvalidArgument.
func WithService(name string, s ServiceSource) Option {
	if nilarg.IsNil(s) {
		return func(*Page) error { return invalid("nil service %q", name) }
	}
	return WithPool(name, func() []PoolRow { return ServiceRows(s.Status()) })
}

// ServiceRows turns a service's status into pool rows, one per host: the
// pool's connection counts only. The service's own host score is left out:
// it is not the balancer's score of the host (which the balancer's table
// shows), and one page has one "score". "lent" counts the connections lent
// out of the pool (pooling.Stats.InUse): one lent to an http.Transport
// stays lent while the transport keeps it idle between requests, so it is
// not the number of requests under way (the balancer's "in flight" is).
func ServiceRows(st pooling.ServiceStatus) []PoolRow {
	rows := make([]PoolRow, len(st.Hosts))
	for i, h := range st.Hosts {
		p := h.Pool
		rows[i] = PoolRow{Name: h.Address, Counts: map[string]int64{
			"max":           int64(p.MaxConns),
			"open":          int64(p.Open),
			"idle":          int64(p.Idle),
			"lent":          int64(p.InUse),
			"waiting":       int64(p.Waiting),
			"dialled":       int64(p.Dialled),
			"dial failures": int64(p.DialFailures),
			"gets":          int64(p.Gets),
		}}
	}
	return rows
}

// MaxConnsControl is a Control over a pool's maximum number of connections,
// between min and max: pass it to WithControl to let the page resize a pool.
func MaxConnsControl[C any](p *pooling.Pool[C], min, max int) Control {
	return Control{Get: func() int { return p.Stats().MaxConns }, Set: p.SetMaxConns, Min: min, Max: max}
}
