package retry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd/lb"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
)

// result is what an attempt goroutine reports.
type result struct {
	i     int // index into the call's attempts
	resp  any
	err   error
	end   int64 // package clock
	panic any   // what the endpoint panicked with, if it did

	noEndpoints bool // the balancer had no endpoint: nothing ran
	closed      bool // the balancer is closed: nothing will ever run
}

// callHedged is call with hedging: attempts run in goroutines so that the
// call can start another while one is still running, and return on the
// first success. Attempts left running are cancelled through the call's
// context when it returns; they report into a buffered channel, so they
// end without anyone waiting for them (Close waits for them).
func (r *Retrier) callHedged(ctx context.Context, req any, start int64, ct CallTrace) (any, error) {
	if r.budget != nil {
		r.budget.deposit(start)
	}
	r.hedgeCap.deposit(start)

	dl, hasDeadline, own := r.deadline(ctx, start)
	var (
		cctx   context.Context
		cancel context.CancelFunc
	)
	if own {
		cctx, cancel = context.WithDeadline(ctx, onClock(dl))
	} else {
		cctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()

	if err := cctx.Err(); err != nil {
		return nil, endCall(ct, newError(err, nil, 0), 0) // no attempt on a done context
	}
	h := newHedgedCall(r, ctx, cctx, req, dl, hasDeadline)
	h.ct = ct
	defer h.timer.Stop()
	h.launch(false, start)
	for {
		select {
		case res := <-h.results:
			if resp, err, done := h.onResult(res); done {
				return resp, err
			}
		case <-h.timer.C:
			h.onHedgeTimer()
		case <-cctx.Done():
			return h.fail(h.doneErr())
		}
	}
}

// hedgedCall is the state of one hedged call. Only the goroutine that made
// the call touches it; attempts talk to it through results.
type hedgedCall struct {
	r           *Retrier
	ctx         context.Context // the caller's
	cctx        context.Context // the call's: ends when the call returns
	req         any
	dl          int64 // the call's deadline on the package clock, if hasDeadline
	hasDeadline bool

	results  chan result // buffered for every attempt: senders never block
	attempts []Attempt
	starts   []int64 // when each attempt started
	running  []bool  // whether each attempt is still running
	tried    []string
	inflight int
	noEps    int // consecutive ErrNoEndpoints
	timer    *time.Timer

	ct     CallTrace      // nil without a Tracer
	traces []AttemptTrace // each attempt's, with ct
}

func newHedgedCall(r *Retrier, ctx, cctx context.Context, req any, dl int64, hasDeadline bool) *hedgedCall {
	n := r.cfg.maxAttempts
	return &hedgedCall{
		r: r, ctx: ctx, cctx: cctx, req: req, dl: dl, hasDeadline: hasDeadline,
		results:  make(chan result, n),
		attempts: make([]Attempt, 0, n),
		starts:   make([]int64, 0, n),
		running:  make([]bool, 0, n),
		tried:    make([]string, 0, n),
		timer:    time.NewTimer(r.hedgeDelay()),
	}
}

// launch starts attempt number len(attempts)+1 at at. A balancer error is
// reported through results like any attempt's, so that one loop handles
// every outcome.
func (h *hedgedCall) launch(hedge bool, at int64) {
	i := len(h.attempts)
	actx := h.cctx
	if h.ct != nil {
		var tr AttemptTrace
		actx, tr = h.ct.StartAttempt(h.cctx, i+1, hedge)
		h.traces = append(h.traces, tr)
	}
	ep, host, err := h.r.pick.pick(h.tried)
	h.attempts = append(h.attempts, Attempt{N: i + 1, Host: host, Hedge: hedge})
	h.starts = append(h.starts, at)
	h.running = append(h.running, true)
	h.inflight++
	if err == nil && !h.r.enter() {
		err = ErrClosed
	}
	if err != nil {
		closed := balancerClosed(err)
		h.results <- result{i: i, err: err, end: at, closed: closed, noEndpoints: !closed && errors.Is(err, lb.ErrNoEndpoints)}
		return
	}
	if host != "" {
		h.tried = append(h.tried, host)
	}
	go h.r.run(actx, ep, h.req, i, at, h.dl, h.hasDeadline, h.results)
}

// onResult takes an attempt's outcome. It reports done with the call's
// result when the call ends there; otherwise it may have started a retry.
func (h *hedgedCall) onResult(res result) (resp any, err error, done bool) {
	a := h.record(res)
	if a.Err == nil {
		h.r.won(a, res.end, h.starts[0], h.running[0])
		if h.ct != nil {
			h.endTrace(res.i, AttemptEnd{Attempt: *a, Next: NextDone})
			h.endRunning(NextAbandoned, nil, res.end)
			h.ct.End(nil, len(h.attempts))
		}
		return res.resp, nil, true
	}
	if final := h.next(a, res); final != nil {
		resp, err = h.fail(final)
		return resp, err, true
	}
	return nil, nil, false
}

// endTrace ends attempt i's trace, if the call is traced.
func (h *hedgedCall) endTrace(i int, e AttemptEnd) {
	if h.ct != nil && h.traces[i] != nil {
		h.traces[i].End(e)
		h.traces[i] = nil
	}
}

// endRunning ends the traces of the attempts still running when the call
// ends at end: abandoned to a winner, or stopped by final.
func (h *hedgedCall) endRunning(next Next, final error, end int64) {
	for i := range h.attempts {
		if h.running[i] {
			a := h.attempts[i]
			if final != nil {
				a.Err = final
			}
			a.Duration = time.Duration(end - h.starts[i])
			h.endTrace(i, AttemptEnd{Attempt: a, Next: next, Stop: final})
		}
	}
}

// record books an attempt's outcome and shows it to the observer. A success
// after the call's context ended is too late, as in go-kit, and gets the
// call's error. A panic in the endpoint is raised again here, in the
// caller's goroutine, as it would be from an inline attempt.
func (h *hedgedCall) record(res result) *Attempt {
	h.inflight--
	h.running[res.i] = false
	a := &h.attempts[res.i]
	a.Err, a.Duration = res.err, time.Duration(res.end-h.starts[res.i])
	switch {
	case res.panic != nil:
		a.Err = fmt.Errorf("retry: endpoint panicked: %v", res.panic)
	case res.err == nil && h.cctx.Err() != nil:
		a.Err = h.doneErr()
	}
	if h.r.cfg.observer != nil {
		h.r.cfg.observer(*a)
	}
	if res.panic != nil {
		panic(res.panic)
	}
	return a
}

// next follows failed attempt a: it returns the error that ends the call,
// or nil when another attempt is still running or a retry has started.
func (h *hedgedCall) next(a *Attempt, res result) error {
	if h.cctx.Err() != nil {
		return h.stopAfter(a, h.doneErr(), BudgetNotAsked)
	}
	if res.closed {
		// The balancer will never have an endpoint again.
		return h.stopAfter(a, a.Err, BudgetNotAsked)
	}
	final, cause := h.r.verdict(h.ctx, a.N, a.Err, res.end, h.dl, h.hasDeadline)
	switch {
	case final != nil:
		return h.stopAfter(a, final, BudgetNotAsked)
	case h.inflight > 0:
		// Another attempt may still succeed.
		h.endTrace(a.N-1, AttemptEnd{Attempt: *a, Next: NextWait})
		return nil
	case len(h.attempts) >= h.r.cfg.maxAttempts:
		return h.stopAfter(a, cause, BudgetNotAsked)
	}
	wait, bd, err := h.r.plan(len(h.attempts), res.noEndpoints, res.end, clock(), h.dl, h.hasDeadline, &h.noEps)
	if err != nil {
		return h.stopAfter(a, err, bd)
	}
	h.endTrace(a.N-1, attemptEnd(*a, nil, wait, bd))
	if wait > 0 {
		if err := backoff.Sleep(h.cctx, wait); err != nil {
			return err
		}
	}
	if h.cctx.Err() != nil {
		return h.doneErr() // the wait ended at the deadline
	}
	h.r.retries.Add(1)
	h.launch(false, clock())
	h.timer.Reset(h.r.hedgeDelay())
	return nil
}

// onHedgeTimer starts a hedge when an attempt is running, the call may make
// another, and the hedge cap allows it.
func (h *hedgedCall) onHedgeTimer() {
	if h.inflight == 0 || len(h.attempts) >= h.r.cfg.maxAttempts || h.cctx.Err() != nil {
		return
	}
	at := clock()
	if !h.r.hedgeCap.withdraw(at) {
		h.r.hedgesCapped.Add(1)
		return
	}
	h.r.hedges.Add(1)
	h.launch(true, at)
	h.timer.Reset(h.r.hedgeDelay())
}

// doneErr is the error of a call whose context is done: the caller's
// context's error, or else the call's own timeout.
func (h *hedgedCall) doneErr() error {
	if err := h.ctx.Err(); err != nil {
		return err
	}
	return context.DeadlineExceeded
}

// fail ends the call with final. Attempts still running get final as
// their error and their time so far; they see the call's context end.
func (h *hedgedCall) fail(final error) (any, error) {
	end := clock()
	if h.ct != nil {
		h.endRunning(NextStop, final, end)
	}
	for i := range h.attempts {
		if h.running[i] {
			h.attempts[i].Err = final
			h.attempts[i].Duration = time.Duration(end - h.starts[i])
		}
	}
	return nil, endCall(h.ct, newError(final, bounded(h.attempts), len(h.attempts)), len(h.attempts))
}

// stopAfter ends failed attempt a's trace with the error that ends the
// call, and returns that error.
func (h *hedgedCall) stopAfter(a *Attempt, final error, bd BudgetDecision) error {
	h.endTrace(a.N-1, attemptEnd(*a, final, 0, bd))
	return final
}

// run is one attempt's goroutine. A panic in the endpoint is handed to the
// call's goroutine rather than taking the process down from this one.
func (r *Retrier) run(ctx context.Context, ep endpoint.Endpoint, req any, i int, at, dl int64, hasDeadline bool, results chan<- result) {
	defer r.exit()
	defer func() {
		if p := recover(); p != nil {
			results <- result{i: i, end: clock(), panic: p}
		}
	}()
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
