package grpcpool

import (
	"fmt"
	"time"

	"github.com/go-kit/kit/metrics"
	"google.golang.org/grpc/connectivity"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// Metrics are a pool's metrics, through go-kit's metrics interfaces;
// package lbmetrics builds them for Prometheus and statsd. The gauges are
// sampled from State every strategy.DefaultMetricsInterval, so calls never
// touch them. Nil fields are not recorded.
type Metrics struct {
	// Connections is the number of connections in the pool.
	Connections metrics.Gauge
	// ReadyConnections is the number of them in the READY state.
	ReadyConnections metrics.Gauge
	// InFlight is the number of calls and streams under way.
	InFlight metrics.Gauge
	// ScaleOuts counts the times scale-out grew the pool.
	ScaleOuts metrics.Counter
}

// WithMetrics makes the pool report into m. It starts one goroutine, which
// Close ends. A nil m, or a field holding a typed nil, is an error.
func WithMetrics(m *Metrics) Option {
	return func(c *config) error {
		if m == nil {
			return fmt.Errorf("%w: nil metrics", ErrInvalidArgument)
		}
		if why := nilarg.NilField(m); why != "" {
			return fmt.Errorf("%w: %s", ErrInvalidArgument, why)
		}
		mc := *m
		c.metrics = &mc
		return nil
	}
}

// startMetrics reports the pool's state at once and then every interval
// until Close.
func (p *Pool) startMetrics() {
	m := p.cfg.metrics
	if m == nil {
		return
	}
	if m.ScaleOuts != nil {
		m.ScaleOuts.Add(0)
	}
	p.reportState()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(strategy.DefaultMetricsInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.reportState()
			case <-p.ctx.Done():
				return
			}
		}
	}()
}

func (p *Pool) reportState() {
	m := p.cfg.metrics
	conns := *p.conns.Load()
	var ready, inflight int64
	for _, c := range conns {
		if connectivity.State(c.state.Load()) == connectivity.Ready {
			ready++
		}
		inflight += c.inflight.Load()
	}
	for _, g := range []struct {
		g metrics.Gauge
		v int64
	}{{m.Connections, int64(len(conns))}, {m.ReadyConnections, ready}, {m.InFlight, inflight}} {
		if g.g != nil {
			g.g.Set(float64(g.v))
		}
	}
}

// countScaleOut records one growth of the pool.
func (p *Pool) countScaleOut() {
	if m := p.cfg.metrics; m != nil && m.ScaleOuts != nil {
		m.ScaleOuts.Add(1)
	}
}
