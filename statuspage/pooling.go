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
// its score, calls in flight and pool counts. A nil s (typed nil included)
// is an error wrapping ErrInvalidArgument.
func WithService(name string, s ServiceSource) Option {
	if nilarg.IsNil(s) {
		return func(*Page) error { return invalid("nil service %q", name) }
	}
	return WithPool(name, func() []PoolRow { return ServiceRows(s.Status()) })
}

// ServiceRows turns a service's status into pool rows, one per host.
func ServiceRows(st pooling.ServiceStatus) []PoolRow {
	rows := make([]PoolRow, len(st.Hosts))
	for i, h := range st.Hosts {
		p := h.Pool
		rows[i] = PoolRow{Name: h.Address, Counts: map[string]int64{
			"score %":       int64(h.Score*100 + 0.5),
			"in flight":     h.InFlight,
			"max":           int64(p.MaxConns),
			"open":          int64(p.Open),
			"idle":          int64(p.Idle),
			"in use":        int64(p.InUse),
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
