package retry

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd/lb"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
	"github.com/seed41aebe0c/lbkit/internal/nilarg"
)

// Retrier turns a balancer into one retrying endpoint with the production
// safeguards go-kit's retry lacks: back-off with jitter, a retry budget
// shared by all its calls, retries on hosts not yet tried, a classifier of
// retryable errors, per-attempt timeouts and, for idempotent calls,
// hedging. Create it with New; it is safe for concurrent use.
type Retrier struct {
	pick     picker
	cfg      config
	budget   *Budget // nil: no budget
	hedgeCap *Budget // nil: no hedging
	tracker  *latencyTracker
	ep       endpoint.Endpoint

	closed   atomic.Bool
	active   atomic.Int64 // attempt goroutines running (hedging)
	idle     chan struct{}
	idleOnce sync.Once

	calls                                                     atomic.Uint64
	retries, hedges, hedgeWins, hedgesCapped, budgetExhausted counter // with their metrics (WithMetrics)
}

// Stats counts what a Retrier did beyond first attempts. Counters cover the
// Retrier's life.
type Stats struct {
	// Calls counts calls to the retrying endpoint.
	Calls uint64
	// Retries counts attempts started after a failed one.
	Retries uint64
	// Hedges counts attempts started while an earlier one was running.
	Hedges uint64
	// HedgeWins counts calls whose successful attempt was a hedge.
	HedgeWins uint64
	// HedgesCapped counts hedges not started because of the hedge cap.
	HedgesCapped uint64
	// BudgetExhausted counts calls that ended because the retry budget
	// was spent.
	BudgetExhausted uint64
	// HedgeDelay is the current wait before a hedge; zero without hedging.
	HedgeDelay time.Duration
	// Budget is the retry budget's state; zero without a budget.
	Budget BudgetStats
}

// New returns a Retrier over b. Without options it makes up to
// DefaultMaxAttempts attempts, with capped exponential back-off and full
// jitter between them, on hosts not yet tried when b is an EndpointAvoider,
// retrying every error but those marked Permanent, within a retry budget of
// its own, with no timeout but the caller's context and no hedging. A nil b
// (or a nil pointer or func in b) or a bad option is an error wrapping
// ErrInvalidArgument.
func New(b lb.Balancer, opts ...Option) (*Retrier, error) {
	if nilarg.IsNil(b) {
		return nil, ErrNilBalancer
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, invalid("nil option")
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	r := &Retrier{pick: newPicker(b, cfg.avoid), cfg: cfg, budget: cfg.budget, idle: make(chan struct{})}
	if r.budget == nil && !cfg.noBudget {
		r.budget, _ = NewBudget(DefaultBudgetRatio, DefaultBudgetMinPerSecond, DefaultBudgetWindow)
	}
	if cfg.hedgeDelay > 0 || cfg.hedgeP > 0 {
		if cfg.maxAttempts < 2 {
			return nil, invalid("hedging needs max attempts of at least 2, have %d", cfg.maxAttempts)
		}
		r.hedgeCap, _ = NewBudget(cfg.hedgeCap, 0, DefaultBudgetWindow)
		if cfg.hedgeP > 0 {
			r.tracker = newLatencyTracker(cfg.hedgeP, cfg.hedgeInitial, LatencyWindow, clock())
		}
	}
	r.ep = r.call
	if cfg.metrics != nil {
		r.useMetrics(cfg.metrics)
	}
	return r, nil
}

// Endpoint returns the retrying endpoint. Every call to it shares the
// Retrier's budget, hedge cap and latency tracker.
func (r *Retrier) Endpoint() endpoint.Endpoint { return r.ep }

// Close makes the endpoint refuse new calls with ErrClosed, and waits until
// every goroutine of a hedged attempt has returned: those cancelled when
// their call ended (they return as soon as their endpoint honours the
// cancellation), and those of calls still under way, which finish
// normally. Without hedging there are none and Close returns at once.
// Close is idempotent and returns nil.
func (r *Retrier) Close() error {
	r.closed.Store(true)
	if r.active.Load() == 0 {
		r.idleOnce.Do(func() { close(r.idle) })
	}
	<-r.idle
	return nil
}

// Stats returns the Retrier's counters.
func (r *Retrier) Stats() Stats {
	s := Stats{
		Calls:           r.calls.Load(),
		Retries:         r.retries.Load(),
		Hedges:          r.hedges.Load(),
		HedgeWins:       r.hedgeWins.Load(),
		HedgesCapped:    r.hedgesCapped.Load(),
		BudgetExhausted: r.budgetExhausted.Load(),
		HedgeDelay:      r.hedgeDelay(),
	}
	if r.budget != nil {
		s.Budget = r.budget.Stats()
	}
	return s
}

func (r *Retrier) hedgeDelay() time.Duration {
	switch {
	case r.tracker != nil:
		return max(r.tracker.Delay(), time.Microsecond)
	case r.hedgeCap != nil:
		return r.cfg.hedgeDelay
	}
	return 0
}

// call is the retrying endpoint. Without hedging every attempt runs inline,
// in the caller's goroutine. The call reads the clock once to start and
// once after each failed attempt, for the attempt's Duration; the
// balancer times its own calls.
func (r *Retrier) call(ctx context.Context, req any) (any, error) {
	return r.callFrom(ctx, req, clock())
}

// callFrom is call begun at start, a reading of clock, which WithMetrics
// also times the call from.
func (r *Retrier) callFrom(ctx context.Context, req any, start int64) (any, error) {
	if r.pick.b == nil {
		return nil, ErrNilBalancer
	}
	if r.closed.Load() {
		return nil, ErrClosed
	}
	r.calls.Add(1)
	var ct CallTrace
	if r.cfg.tracer != nil {
		ctx, ct = r.cfg.tracer.StartCall(ctx)
	}
	if r.hedgeCap != nil {
		return r.callHedged(ctx, req, start, ct)
	}
	actx := ctx
	dl, hasDeadline, own := r.deadline(ctx, start)
	if own {
		// Only the Retrier's own, earlier, deadline needs a context: a
		// caller's earlier deadline already bounds the call, and its
		// context goes through unchanged.
		var cancel context.CancelFunc
		actx, cancel = context.WithDeadline(ctx, onClock(dl))
		defer cancel()
	}
	if r.budget != nil {
		r.budget.deposit(start)
	}
	var (
		buf      [4]Attempt // most calls that fail fail in a few attempts
		attempts = buf[:0]  // at most MaxErrorAttempts: see keepAttempt
		tried    []string
		noEps    int // consecutive ErrNoEndpoints
		at       = start
	)
	for n := 1; ; n++ {
		// go-kit starts no attempt on a done context; neither do we, not
		// even the first.
		if err := actx.Err(); err != nil {
			return nil, endCall(ct, newError(err, ordered(attempts, n-1), n-1), n-1)
		}
		ectx := actx
		var tr AttemptTrace
		if ct != nil {
			ectx, tr = ct.StartAttempt(actx, n, false)
		}
		ep, host, err := r.pick.pick(tried)
		var noEndpoints, closed bool
		if err != nil {
			closed = balancerClosed(err)
			noEndpoints = !closed && errors.Is(err, lb.ErrNoEndpoints)
		} else {
			var resp any
			if resp, err = r.attempt(ectx, ep, req, at, dl, hasDeadline); err == nil {
				// A success after the call's deadline or the caller's
				// cancellation comes too late, as in go-kit, where the
				// call has returned the context's error by then.
				if err = actx.Err(); err == nil {
					if r.cfg.observer != nil || ct != nil {
						r.succeeded(ct, tr, Attempt{N: n, Host: host, Duration: time.Duration(clock() - at)})
					}
					return resp, nil
				}
			}
		}
		now := clock()
		a := Attempt{N: n, Host: host, Err: err, Duration: time.Duration(now - at)}
		attempts = keepAttempt(attempts, a, n-1)
		if r.cfg.observer != nil {
			r.cfg.observer(a)
		}
		var final, cause error
		if closed {
			final = err // the balancer will never have an endpoint again
		} else {
			final, cause = r.verdict(ctx, n, err, now, dl, hasDeadline)
		}
		if final == nil && r.cfg.maxAttempts > 0 && n >= r.cfg.maxAttempts {
			final = cause
		}
		var (
			wait time.Duration
			bd   BudgetDecision
		)
		if final == nil {
			wait, bd, final = r.plan(n, noEndpoints, at, now, dl, hasDeadline, &noEps)
		}
		if tr != nil {
			tr.End(attemptEnd(a, final, wait, bd))
		}
		if final == nil && wait > 0 {
			final = backoff.Sleep(ctx, wait)
			now = clock()
		}
		if final != nil {
			return nil, endCall(ct, newError(final, ordered(attempts, n), n), n)
		}
		if host != "" && !slices.Contains(tried, host) {
			// A host tried again (every host has been) is not listed
			// twice: tried stays as short as the set of hosts.
			if tried == nil {
				tried = make([]string, 0, 4)
			}
			tried = append(tried, host)
		}
		r.retries.Add(1)
		at = now
	}
}

// deadline returns when a call that started at start must end, on the
// package clock, if it must; own reports that the end is the Retrier's own
// timeout, earlier than ctx's deadline.
func (r *Retrier) deadline(ctx context.Context, start int64) (dl int64, has, own bool) {
	if d, ok := ctx.Deadline(); ok {
		dl, has = sinceEpoch(d), true
	}
	if t := r.cfg.timeout; t > 0 && (!has || start+int64(t) < dl) {
		return start + int64(t), true, true
	}
	return dl, has, false
}

// attempt calls ep under the per-attempt timeout, if any. start and dl are
// on the package clock.
func (r *Retrier) attempt(ctx context.Context, ep endpoint.Endpoint, req any, start, dl int64, hasDeadline bool) (any, error) {
	if t := r.cfg.attemptTimeout; t > 0 {
		if d := start + int64(t); !hasDeadline || d < dl {
			actx, cancel := context.WithDeadline(ctx, onClock(d))
			defer cancel()
			return ep(actx, req)
		}
	}
	return ep(ctx, req)
}

// verdict decides whether a call may go on after attempt n failed with err
// at now. It returns the error that ends the call, or nil to go on, and in
// cause the error to end with should a later check stop the call (err, or
// the callback's replacement).
func (r *Retrier) verdict(ctx context.Context, n int, err error, now, dl int64, hasDeadline bool) (final, cause error) {
	if cerr := ctx.Err(); cerr != nil {
		return cerr, cerr
	}
	if hasDeadline && now >= dl {
		return context.DeadlineExceeded, context.DeadlineExceeded
	}
	cause = err
	if r.cfg.callback != nil {
		keep, replacement := r.cfg.callback(n, err)
		if replacement != nil {
			cause = replacement
		}
		if !keep {
			return cause, cause
		}
	}
	if r.cfg.retryable != nil && !r.cfg.retryable(err) {
		return cause, cause
	}
	return nil, cause
}

// plan takes a retry from the budget and works out the back-off before
// retry number n, whose failed attempt started at at and ended at now.
// noEndpoints reports that the balancer had no endpoint for the failed
// attempt. plan returns the wait, the budget's answer, and the error that
// ends the call instead of a retry, if any; the caller sleeps.
func (r *Retrier) plan(n int, noEndpoints bool, at, now, dl int64, hasDeadline bool, noEps *int) (wait time.Duration, bd BudgetDecision, final error) {
	if noEndpoints {
		// No backend saw this attempt, so it costs no budget; but only
		// discovery can cure it, and that takes time. Only the pick's
		// error counts: an endpoint's error that wraps ErrNoEndpoints
		// came from a backend, and a backend's failures cost budget.
		*noEps++
		wait = noEndpointsBackoff.Ceiling(*noEps)
	} else {
		*noEps = 0
		if r.budget != nil {
			if !r.budget.withdraw(now) {
				r.budgetExhausted.Add(1)
				return 0, BudgetDenied, ErrBudgetExhausted
			}
			bd = BudgetGranted
		}
	}
	wait = max(wait, r.cfg.backoff.Delay(n))
	if r.cfg.pace && n > ImmediateRetries {
		// The next attempt starts an interval after this one started.
		wait = max(wait, pacing.Ceiling(n-ImmediateRetries)-time.Duration(now-at))
	}
	if wait <= 0 {
		return 0, bd, nil
	}
	if hasDeadline && now+int64(wait) >= dl {
		// The retry could not start before the deadline: end now rather
		// than sleep until it.
		return 0, bd, context.DeadlineExceeded
	}
	return wait, bd, nil
}

// EndpointAvoider is the one optional interface a balancer may implement
// beyond go-kit's lb.Balancer: it steers a retry away from the hosts a
// call has already tried. lbkit's loadbalancer.Balancer implements it.
// With one, every retry (and hedge) goes to a host not in tried whenever
// the balancer has such a host, and each Attempt records its host. Any
// go-kit lb.Balancer still works without it, with neither guarantee.
//
// The balancer times and records its own calls; the retry never hands it
// clock readings, so the two share nothing but this method.
type EndpointAvoider interface {
	// EndpointAvoiding returns an endpoint, preferably of an instance whose
	// address is not in tried, and that instance's address. It must not
	// keep or modify tried.
	EndpointAvoiding(tried []string) (endpoint.Endpoint, string, error)
}

// picker chooses the endpoint for each attempt.
type picker struct {
	b  lb.Balancer
	av EndpointAvoider // nil: use b.Endpoint
}

func newPicker(b lb.Balancer, avoid bool) picker {
	if nilarg.IsNil(b) {
		return picker{}
	}
	p := picker{b: b}
	if avoid {
		p.av, _ = b.(EndpointAvoider)
	}
	return p
}

func (p picker) pick(tried []string) (endpoint.Endpoint, string, error) {
	var (
		ep   endpoint.Endpoint
		host string
		err  error
	)
	if p.av != nil {
		ep, host, err = p.av.EndpointAvoiding(tried)
	} else {
		ep, err = p.b.Endpoint()
	}
	if err == nil && ep == nil {
		err = ErrNilEndpoint
	}
	return ep, host, err
}

// epoch anchors the package clock. Budgets and the latency tracker keep
// times as nanoseconds since it, which lets simulations drive them with a
// clock of their own.
var epoch = time.Now()

// clock reads the monotonic clock as nanoseconds since epoch.
func clock() int64 { return int64(time.Since(epoch)) }

// sinceEpoch converts a time read with time.Now to the package clock without
// reading the clock again.
func sinceEpoch(t time.Time) int64 { return int64(t.Sub(epoch)) }

// onClock converts a time on the package clock to a time.Time that carries
// a monotonic reading, so that context.WithDeadline and time.Until measure
// it on the monotonic clock like any deadline made from time.Now.
func onClock(t int64) time.Time { return epoch.Add(time.Duration(t)) }
