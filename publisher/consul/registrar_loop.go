package consul

import (
	"context"
	"errors"
	"time"

	"github.com/go-kit/log/level"
)

// keep refreshes the TTL checks until ctx is cancelled. A failed refresh
// is followed by a registration: an agent restarted without its data (a
// dev agent always is) has forgotten the service, and registering again is
// harmless when it has not. Each call is bounded by the refresh period so
// a hung agent cannot stall the loop.
func (r *Registrar) keep(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(r.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, r.refresh)
		err := r.updateTTL(cctx)
		if err != nil && ctx.Err() == nil {
			r.report(err)
			if err = r.register(cctx); err == nil {
				r.count(func(s *RegistrarStats) { s.Reregistrations++ })
			} else if ctx.Err() == nil {
				r.report(err)
			}
		}
		cancel()
	}
}

func (r *Registrar) report(err error) {
	level.Warn(r.logger).Log("msg", "consul registrar", "service", r.reg.ID, "err", err)
	r.onError(err)
}

// failed records a failed agent call, unless it failed only because the
// caller (or Deregister, stopping the keeper) cancelled it. A deadline that
// ran out is a failure: the agent did not answer in time.
func (r *Registrar) failed(ctx context.Context, err error) {
	if errors.Is(ctx.Err(), context.Canceled) && errors.Is(err, context.Canceled) {
		return
	}
	r.count(func(s *RegistrarStats) { s.Failures++; s.LastError = err })
}

func (r *Registrar) count(f func(*RegistrarStats)) {
	r.smu.Lock()
	f(&r.stats)
	r.smu.Unlock()
}
