package retry

import (
	"context"
	"time"

	"github.com/go-kit/kit/endpoint"
)

// result is what an attempt goroutine reports.
type result struct {
	i    int // index into the call's attempts
	resp any
	err  error
	end  int64 // package clock
}

// callHedged is call with hedging: attempts run in goroutines so that the
// call can start another while one is still running, and return on the
// first success. Attempts left running are cancelled through the call's
// context when it returns; they report into a buffered channel, so they
// end without anyone waiting for them (Close waits for them).
func (r *Retrier) callHedged(ctx context.Context, req any) (any, error) {
	start := clock()
	if r.budget != nil {
		r.budget.deposit(start)
	}
	r.hedgeCap.deposit(start)

	dl, hasDeadline := parentDeadline(ctx)
	var (
		cctx   context.Context
		cancel context.CancelFunc
	)
	if t := r.cfg.timeout; t > 0 && (!hasDeadline || start+int64(t) < dl) {
		dl, hasDeadline = start+int64(t), true
		cctx, cancel = context.WithDeadline(ctx, epoch.Add(time.Duration(dl)))
	} else {
		cctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()

	maxAttempts := r.cfg.maxAttempts
	var (
		results  = make(chan result, maxAttempts)
		attempts = make([]Attempt, 0, maxAttempts)
		starts   = make([]int64, 0, maxAttempts)
		running  = make([]bool, 0, maxAttempts)
		tried    = make([]string, 0, maxAttempts)
		inflight int
		noEps    int
	)
	// launch starts attempt number len(attempts)+1. A balancer error is
	// reported through results like any attempt's, so that one loop
	// handles every outcome.
	launch := func(hedge bool, at int64) {
		i := len(attempts)
		ep, host, err := r.pick.pick(tried)
		attempts = append(attempts, Attempt{N: i + 1, Host: host, Hedge: hedge})
		starts = append(starts, at)
		running = append(running, true)
		inflight++
		if err == nil && !r.enter() {
			err = ErrClosed
		}
		if err != nil {
			results <- result{i: i, err: err, end: at}
			return
		}
		if host != "" {
			tried = append(tried, host)
		}
		go r.run(cctx, ep, req, i, at, dl, hasDeadline, results)
	}
	fail := func(final error) (any, error) {
		end := clock()
		for i := range attempts {
			if running[i] {
				// Still running: it will see the call's context end.
				attempts[i].Err = final
				attempts[i].Duration = time.Duration(end - starts[i])
			}
		}
		return nil, newError(final, attempts)
	}

	hedgeTimer := time.NewTimer(r.hedgeDelay())
	defer hedgeTimer.Stop()
	launch(false, start)
	for {
		select {
		case res := <-results:
			inflight--
			running[res.i] = false
			a := &attempts[res.i]
			a.Err, a.Duration = res.err, time.Duration(res.end-starts[res.i])
			if r.cfg.observer != nil {
				r.cfg.observer(*a)
			}
			if res.err == nil {
				r.won(a, res.end, starts[0], running[0])
				return res.resp, nil
			}
			final, cause := r.verdict(ctx, a.N, res.err, res.end, dl, hasDeadline)
			if final != nil {
				return fail(final)
			}
			if inflight > 0 {
				continue // another attempt may still succeed
			}
			if len(attempts) >= maxAttempts {
				return fail(cause)
			}
			if _, err := r.pause(cctx, len(attempts), res.err, clock(), dl, hasDeadline, &noEps); err != nil {
				return fail(err)
			}
			r.retries.Add(1)
			launch(false, clock())
			hedgeTimer.Reset(r.hedgeDelay())
		case <-hedgeTimer.C:
			if inflight == 0 || len(attempts) >= maxAttempts {
				continue
			}
			at := clock()
			if !r.hedgeCap.withdraw(at) {
				r.hedgesCapped.Add(1)
				continue
			}
			r.hedges.Add(1)
			launch(true, at)
			hedgeTimer.Reset(r.hedgeDelay())
		case <-cctx.Done():
			err := ctx.Err()
			if err == nil {
				err = context.DeadlineExceeded // the call's own timeout
			}
			return fail(err)
		}
	}
}

// run is one attempt's goroutine.
func (r *Retrier) run(ctx context.Context, ep endpoint.Endpoint, req any, i int, at, dl int64, hasDeadline bool, results chan<- result) {
	defer r.exit()
	resp, err := r.attempt(ctx, ep, req, at, dl, hasDeadline)
	results <- result{i: i, resp: resp, err: err, end: clock()}
}

// won does the bookkeeping of a successful hedged call: a hedge's win, and
// the latency samples of the percentile tracker. When a hedge beat a first
// attempt still running, that attempt's time so far is recorded as well:
// it is a lower bound on the latency the hedge hid, and leaving it out
// would teach the tracker that the tail is shorter than it is.
func (r *Retrier) won(a *Attempt, end, firstStart int64, firstRunning bool) {
	if a.Hedge {
		r.hedgeWins.Add(1)
	}
	if r.tracker == nil {
		return
	}
	r.tracker.record(end, a.Duration)
	if a.N != 1 && firstRunning {
		r.tracker.record(end, time.Duration(end-firstStart))
	}
}

// enter counts an attempt goroutine about to start, unless the Retrier is
// closed. exit counts it done.
func (r *Retrier) enter() bool {
	r.active.Add(1)
	if r.closed.Load() {
		r.exit()
		return false
	}
	return true
}

func (r *Retrier) exit() {
	if r.active.Add(-1) == 0 && r.closed.Load() {
		r.idleOnce.Do(func() { close(r.idle) })
	}
}
