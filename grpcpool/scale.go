package grpcpool

import (
	"time"
)

func (p *Pool) scaleLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.cfg.scale.Period)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.scaleOut()
		case <-p.ctx.Done():
			return
		}
	}
}

// scaleTarget is the size the pool should grow to for total calls and
// streams under way across size connections. The step is rounded up so
// that any excess adds at least one connection.
func scaleTarget(size int, total int64, s ScaleConfig) int {
	limit := int64(size) * int64(s.DesiredMaxStreams)
	if total <= limit || size >= s.MaxConns {
		return size
	}
	step := int64(max(s.DesiredMaxStreams/2, 1))
	delta := (total - limit + step - 1) / step
	return int(min(int64(size)+delta, int64(s.MaxConns)))
}

// scaleOut grows the pool once if the load calls for it.
func (p *Pool) scaleOut() {
	conns := *p.conns.Load()
	var total int64
	for _, c := range conns {
		total += c.inflight.Load()
	}
	want := scaleTarget(len(conns), total, p.cfg.scale)
	if want <= len(conns) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return
	}
	grown := make([]*conn, len(conns), want)
	copy(grown, conns)
	for len(grown) < want {
		c, err := p.dial()
		if err != nil {
			// The same options dialled the first connections, so this is
			// not expected; keep what was added and try next period.
			p.logger.Log("msg", "scale-out dial failed", "err", err)
			break
		}
		grown = append(grown, c)
	}
	p.conns.Store(&grown)
	if len(grown) > len(conns) {
		p.countScaleOut()
	}
	p.logger.Log("msg", "scaled out", "in_flight", total, "from", len(conns), "to", len(grown))
}
