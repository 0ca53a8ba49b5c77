package etcd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-kit/log/level"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/publisher"
)

// Registrar errors.
var (
	// ErrStopped is returned by Register after Stop.
	ErrStopped = errors.New("etcd: registrar stopped")
	// ErrLeaseLost is reported (wrapped) when the keep-alive stream ends:
	// the lease expired during an outage longer than its TTL, was revoked,
	// or the client was closed. The registrar then registers again.
	ErrLeaseLost = errors.New("etcd: lease lost")
)

// RegistrarStats describes a registrar's work so far.
type RegistrarStats struct {
	// Registered reports whether the registrar is keeping its key alive
	// (between Register and Deregister), not whether etcd holds the key at
	// this instant.
	Registered bool
	// Lease is the lease the key was last put under.
	Lease clientv3.LeaseID
	// Registrations counts successful grant-and-put rounds.
	Registrations uint64
	// KeepAlives counts keep-alive responses drained.
	KeepAlives uint64
	// LeasesLost counts keep-alive streams that ended.
	LeasesLost uint64
	// Failures counts failed registration attempts.
	Failures uint64
	// LastErr is the last error met, nil if the last attempt succeeded.
	LastErr error
}

// Registrar keeps one instance's key in etcd under a lease. Create it with
// NewRegistrar, call Register, and Stop it on shutdown.
type Registrar struct {
	client RegistrarClient
	key    string
	value  string
	cfg    config

	op sync.Mutex // serializes Register, Deregister and Stop

	// reconnected receives a token when the client's connection becomes
	// ready again after having been lost (see followConn).
	reconnected chan struct{}

	mu      sync.Mutex
	stats   RegistrarStats
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
	current clientv3.LeaseID
}

// NewRegistrar returns a registrar that will put in, encoded by EncodeValue,
// at key (for example "/services/api/10.0.0.1:8080"). It contacts etcd only
// on Register.
func NewRegistrar(c RegistrarClient, key string, in publisher.Instance, opts ...RegistrarOption) (*Registrar, error) {
	if nilarg.IsNil(c) {
		return nil, invalid("nil client")
	}
	if key == "" {
		return nil, invalid("empty key")
	}
	value, err := EncodeValue(in)
	if err != nil {
		return nil, err
	}
	cfg, err := newConfig(opts, RegistrarOption.applyRegistrar)
	if err != nil {
		return nil, err
	}
	return &Registrar{client: c, key: key, value: value, cfg: cfg, reconnected: make(chan struct{}, 1)}, nil
}

// Key returns the key the registrar writes.
func (r *Registrar) Key() string { return r.key }

// Register grants a lease, puts the key under it and starts keeping the
// lease alive in the background. It returns the first attempt's error (the
// registrar is then not registered, and Register may be called again).
// Register on a registered registrar does nothing; after Stop it returns
// ErrStopped.
func (r *Registrar) Register(ctx context.Context) error {
	r.op.Lock()
	defer r.op.Unlock()
	r.mu.Lock()
	closed, running := r.closed, r.done != nil
	r.mu.Unlock()
	if closed {
		return ErrStopped
	}
	if running {
		return nil
	}
	lease, err := r.grantAndPut(ctx)
	if err != nil {
		return err
	}
	bg, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r.mu.Lock()
	r.cancel, r.done = cancel, done
	r.stats.Registered = true
	r.mu.Unlock()
	go r.keep(bg, lease, done)
	return nil
}

// Deregister stops the keep-alive, deletes the key and revokes the lease.
// If etcd cannot be reached the error is returned, and the key disappears
// when its lease expires. Deregister on an unregistered registrar does
// nothing. Register may be called again afterwards.
func (r *Registrar) Deregister(ctx context.Context) error {
	r.op.Lock()
	defer r.op.Unlock()
	return r.deregister(ctx)
}

func (r *Registrar) deregister(ctx context.Context) error {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.cancel, r.done = nil, nil
	r.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	<-done
	r.mu.Lock()
	lease := r.current
	r.current = 0
	r.stats.Registered = false
	r.mu.Unlock()

	ctx, cancelReq := r.requestContext(ctx)
	defer cancelReq()
	var errs []error
	if _, err := r.client.Delete(ctx, r.key); err != nil {
		errs = append(errs, fmt.Errorf("etcd: delete %s: %w", r.key, err))
	}
	if lease != 0 {
		if _, err := r.client.Revoke(ctx, lease); err != nil && !isLeaseNotFound(err) {
			errs = append(errs, fmt.Errorf("etcd: revoke lease %x: %w", int64(lease), err))
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		r.record(err)
	}
	return err
}

// Stop deregisters (within DefaultRequestTimeout or WithRequestTimeout)
// and makes later Register calls fail with ErrStopped. A failed
// deregistration goes to the logger, the WithErrorHandler function and
// Stats; call Deregister first to get its error back. Stop is idempotent.
func (r *Registrar) Stop() {
	r.op.Lock()
	defer r.op.Unlock()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	r.mu.Unlock()
	if err := r.deregister(context.Background()); err != nil {
		r.report(err)
	}
}

// Stats returns the registrar's statistics.
func (r *Registrar) Stats() RegistrarStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// requestContext bounds ctx by the request timeout.
func (r *Registrar) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.cfg.timeout)
}

// grantAndPut grants a lease and puts the key under it. On a failed put it
// revokes the new lease, so failed attempts do not pile up leases.
func (r *Registrar) grantAndPut(ctx context.Context) (clientv3.LeaseID, error) {
	ctx, cancel := r.requestContext(ctx)
	defer cancel()
	ttl := int64((r.cfg.ttl + 999_999_999) / 1_000_000_000) // whole seconds, rounded up
	g, err := r.client.Grant(ctx, ttl)
	if err == nil && g == nil {
		err = errors.New("empty grant response")
	}
	if err == nil && g.Error != "" {
		err = errors.New(g.Error)
	}
	if err != nil {
		err = fmt.Errorf("etcd: grant lease for %s: %w", r.key, err)
		r.fail(err)
		return 0, err
	}
	if _, err := r.client.Put(ctx, r.key, r.value, clientv3.WithLease(g.ID)); err != nil {
		err = fmt.Errorf("etcd: put %s: %w", r.key, err)
		r.fail(err)
		rctx, rcancel := context.WithTimeout(context.Background(), r.cfg.timeout)
		r.client.Revoke(rctx, g.ID) // best effort; it expires anyway
		rcancel()
		return 0, err
	}
	r.mu.Lock()
	r.current = g.ID
	r.stats.Lease = g.ID
	r.stats.Registrations++
	r.stats.LastErr = nil
	r.mu.Unlock()
	return g.ID, nil
}

// keep keeps lease alive, draining the keep-alive channel, and registers
// again whenever the lease is lost, until ctx ends.
func (r *Registrar) keep(ctx context.Context, lease clientv3.LeaseID, done chan struct{}) {
	defer close(done)
	if conn := connOf(r.client); conn != nil {
		// The leases etcd restores on a restart live one TTL from then:
		// have the client try the server often enough to be back well
		// before, and register again at once when it is.
		pace := min(RedialInterval, r.cfg.ttl/4)
		var wg sync.WaitGroup
		wg.Go(func() { followConn(ctx, conn, pace, func() { token(r.reconnected) }) })
		defer wg.Wait()
	}
	bo := backoff.Counter{Policy: r.cfg.backoff}
	for {
		r.keepAlive(ctx, lease)
		if ctx.Err() != nil {
			return
		}
		r.mu.Lock()
		r.stats.LeasesLost++
		r.mu.Unlock()
		lost := fmt.Errorf("%w: %s: lease %x", ErrLeaseLost, r.key, int64(lease))
		level.Warn(r.cfg.logger).Log("component", "etcd", "key", r.key, "msg", "lease lost, registering again", "err", lost)
		r.report(lost)
		old := lease
		for {
			if r.pause(ctx, bo.Next()) != nil {
				return
			}
			l, err := r.grantAndPut(ctx)
			if err == nil {
				lease = l
				break
			}
			if ctx.Err() != nil {
				return
			}
			r.report(err)
		}
		bo.Reset()
		// The old lease may live on server-side (the client gave up on it
		// first); the key has moved to the new one, so revoking it is only
		// tidying.
		rctx, cancel := context.WithTimeout(ctx, r.cfg.timeout)
		r.client.Revoke(rctx, old)
		cancel()
	}
}

// pause waits d before the next registration attempt, or less if the
// client's connection comes back meanwhile: the server may just have
// restarted, and the lease it restored runs out one TTL from then.
func (r *Registrar) pause(ctx context.Context, d time.Duration) error {
	_, err := backoff.SleepOrWake(ctx, d, r.reconnected)
	return err
}

// keepAlive drains the keep-alive channel of lease until it closes or ctx
// ends.
func (r *Registrar) keepAlive(ctx context.Context, lease clientv3.LeaseID) {
	kctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := r.client.KeepAlive(kctx, lease)
	if err != nil {
		r.report(fmt.Errorf("etcd: keep-alive %s: %w", r.key, err))
		return
	}
	for {
		select {
		case resp, ok := <-ch:
			if !ok {
				return
			}
			if resp != nil {
				r.mu.Lock()
				r.stats.KeepAlives++
				r.mu.Unlock()
			}
		case <-ctx.Done():
			return
		}
	}
}

// fail records a failed attempt.
func (r *Registrar) fail(err error) {
	r.mu.Lock()
	r.stats.Failures++
	r.stats.LastErr = err
	r.mu.Unlock()
}

func (r *Registrar) record(err error) {
	r.mu.Lock()
	r.stats.LastErr = err
	r.mu.Unlock()
}

// report hands a background error to the caller's handler.
func (r *Registrar) report(err error) {
	level.Error(r.cfg.logger).Log("component", "etcd", "key", r.key, "err", err)
	r.record(err)
	if r.cfg.onError != nil {
		r.cfg.onError(err)
	}
}

func isLeaseNotFound(err error) bool {
	return errors.Is(err, rpctypes.ErrLeaseNotFound)
}
