package consul

import (
	"context"
	"errors"

	"github.com/go-kit/log/level"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
)

// keep makes sure, until ctx is cancelled, that the agent has the service:
// every period it refreshes the TTL checks (or looks the service up when
// there is none), and when that fails it registers the service again. An
// agent restarted without its data has forgotten the service, whatever its
// checks, and registering again is harmless when it has not. After a
// failure the next try comes on a short back-off, not a whole period later,
// so an agent that returns gets the service back at once. Each call is
// bounded by the period so a hung agent cannot stall the loop.
func (r *Registrar) keep(ctx context.Context, done chan struct{}) {
	defer close(done)
	retry := backoff.Counter{Policy: r.retry}
	wait := r.period
	for {
		if backoff.Sleep(ctx, wait) != nil {
			return
		}
		if r.confirm(ctx) {
			retry.Reset()
			wait = r.period
		} else {
			wait = retry.Next()
		}
	}
}

// confirm refreshes or looks up the registration, registering it again if
// that fails. It reports false when the agent still does not have it.
func (r *Registrar) confirm(ctx context.Context) bool {
	cctx, cancel := context.WithTimeout(ctx, r.period)
	defer cancel()
	var err error
	if len(r.ttlChecks) > 0 {
		err = r.updateTTL(cctx)
	} else {
		err = r.lookup(cctx)
	}
	if ctx.Err() != nil {
		return true // Deregister or Stop: nothing more to do
	}
	if err == nil {
		r.count(func(s *RegistrarStats) { s.Registered = true })
		return true
	}
	r.report(err)
	r.count(func(s *RegistrarStats) { s.Registered = false })
	if err = r.register(cctx); err != nil {
		if ctx.Err() == nil {
			r.report(err)
		}
		return ctx.Err() != nil
	}
	r.count(func(s *RegistrarStats) { s.Registered = true; s.Reregistrations++ })
	return true
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
