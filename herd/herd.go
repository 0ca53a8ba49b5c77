package herd

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/metrics"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
)

// Herd is a resizable set of workers that run work items through a
// function. Send items in, CloseInput when there are no more, and read the
// finished items from Output until it closes. Create it with New; all
// methods are safe for concurrent use.
type Herd[B, R any] struct {
	fn         Func[B, R]
	maxRetries int
	retryDelay time.Duration
	logger     log.Logger
	metrics    Metrics
	// The callbacks, settable at any time (SetOnSuccess ...); nil: none.
	onSuccess, onRetry, onFailure atomic.Pointer[func(*Work[B, R])]

	in          chan Work[B, R]
	out         chan Work[B, R]
	inputClosed chan struct{}
	ctx         context.Context // done on Close; given to the function
	cancel      context.CancelFunc

	mu       sync.Mutex
	quits    []chan struct{} // one per worker of the current size
	running  int             // worker goroutines alive
	closedIn bool
	closed   bool
	outDone  bool
	wg       sync.WaitGroup

	busy                         atomic.Int64
	succeeded, retried, failures atomic.Uint64
}

// Stats is a point-in-time view of a herd.
type Stats struct {
	// Size is the number of workers the herd should have; Running the
	// worker goroutines alive (more than Size for a moment after a
	// shrink, while workers finish their items); Busy those processing an
	// item.
	Size, Running, Busy int
	// Succeeded and Failed count finished items; Retried counts retries
	// granted.
	Succeeded, Retried, Failed uint64
	InputClosed, Closed        bool
}

// New starts a herd of WithSize workers (DefaultSize) running fn. A nil fn
// or a bad option is an error wrapping ErrInvalidArgument.
func New[B, R any](fn Func[B, R], opts ...Option) (*Herd[B, R], error) {
	if fn == nil {
		return nil, fmt.Errorf("%w: nil function", ErrInvalidArgument)
	}
	cfg := config{size: DefaultSize, maxRetries: DefaultMaxRetries, logger: log.NewNopLogger()}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidArgument)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	h := &Herd[B, R]{
		fn:          fn,
		maxRetries:  cfg.maxRetries,
		retryDelay:  cfg.retryDelay,
		logger:      log.With(cfg.logger, "component", "herd"),
		metrics:     cfg.metrics,
		in:          make(chan Work[B, R]),
		out:         make(chan Work[B, R], cfg.outBuffer),
		inputClosed: make(chan struct{}),
	}
	for _, cb := range []struct {
		v    any
		slot *atomic.Pointer[func(*Work[B, R])]
		name string
	}{{cfg.onSuccess, &h.onSuccess, "success"}, {cfg.onRetry, &h.onRetry, "retry"}, {cfg.onFailure, &h.onFailure, "failure"}} {
		f, err := typedCallback[B, R](cb.v, cb.name)
		if err != nil {
			return nil, err
		}
		if f != nil {
			cb.slot.Store(&f)
		}
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.mu.Lock()
	h.resizeLocked(cfg.size)
	h.mu.Unlock()
	return h, nil
}

// Send hands w to a worker, blocking until one takes it, ctx is done
// (ctx.Err()), the input is closed (ErrInputClosed) or the herd is closed
// (ErrClosed). The herd processes its own copy: w's status and attempts
// start afresh.
func (h *Herd[B, R]) Send(ctx context.Context, w Work[B, R]) error {
	select {
	case <-h.ctx.Done():
		return ErrClosed
	case <-h.inputClosed:
		return ErrInputClosed
	default:
	}
	w.status, w.attempts = Pending, 0
	select {
	case h.in <- w:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-h.inputClosed:
		return ErrInputClosed
	case <-h.ctx.Done():
		return ErrClosed
	}
}

// CloseInput says that no more work will be sent. Workers finish what they
// hold, and Output closes once they all have. CloseInput is idempotent.
func (h *Herd[B, R]) CloseInput() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closedIn {
		return
	}
	h.closedIn = true
	close(h.inputClosed)
	h.closeOutputIfDoneLocked()
}

// Output returns the channel of finished items (Success or Failure). It
// closes when the input is closed and every item sent has finished, or
// when the herd is closed. Read it: workers wait for room in it (see
// WithOutputBuffer), so a herd whose output nobody reads stalls.
func (h *Herd[B, R]) Output() <-chan Work[B, R] { return h.out }

// Resize sets the number of workers. Growing starts workers at once;
// shrinking lets the workers in excess finish their current item (with its
// retries) and leave. A negative size is an error wrapping
// ErrInvalidArgument; after Close, Resize returns ErrClosed.
func (h *Herd[B, R]) Resize(n int) error {
	if n < 0 {
		return fmt.Errorf("%w: negative size %d", ErrInvalidArgument, n)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	from := len(h.quits)
	h.resizeLocked(n)
	if from != n {
		h.logger.Log("msg", "resized", "from", from, "to", n)
	}
	return nil
}

// ResizeBy changes the number of workers by delta, atomically (two
// callers growing by 1 each grow the herd by 2), and returns the new size:
// gofherd's IncreasedHerdBy and DecreaseHerdBy. A delta that would make the
// size negative is an error wrapping ErrInvalidArgument and changes
// nothing; after Close, ResizeBy returns ErrClosed.
func (h *Herd[B, R]) ResizeBy(delta int) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	from := len(h.quits)
	if h.closed {
		return from, ErrClosed
	}
	n := from + delta
	if delta < -from {
		return from, fmt.Errorf("%w: size %d by %d would be negative", ErrInvalidArgument, from, delta)
	}
	h.resizeLocked(n)
	if from != n {
		h.logger.Log("msg", "resized", "from", from, "to", n)
	}
	return n, nil
}

// SetOnSuccess replaces the success callback (OnSuccess) while the herd
// runs; nil removes it. Items finishing from then on see the new one. f
// must be safe for concurrent use.
func (h *Herd[B, R]) SetOnSuccess(f func(*Work[B, R])) { setCallback(&h.onSuccess, f) }

// SetOnRetry replaces the retry callback (OnRetry); see SetOnSuccess.
func (h *Herd[B, R]) SetOnRetry(f func(*Work[B, R])) { setCallback(&h.onRetry, f) }

// SetOnFailure replaces the failure callback (OnFailure); see
// SetOnSuccess.
func (h *Herd[B, R]) SetOnFailure(f func(*Work[B, R])) { setCallback(&h.onFailure, f) }

func setCallback[B, R any](slot *atomic.Pointer[func(*Work[B, R])], f func(*Work[B, R])) {
	if f == nil {
		slot.Store(nil)
		return
	}
	slot.Store(&f)
}

func runCallback[B, R any](slot *atomic.Pointer[func(*Work[B, R])], w *Work[B, R]) {
	if f := slot.Load(); f != nil {
		(*f)(w)
	}
}

func (h *Herd[B, R]) resizeLocked(n int) {
	for len(h.quits) < n {
		q := make(chan struct{})
		h.quits = append(h.quits, q)
		if !h.closedIn {
			// After CloseInput a new worker would only leave again.
			h.running++
			h.wg.Add(1)
			go h.work(q)
		}
	}
	for len(h.quits) > n {
		last := len(h.quits) - 1
		close(h.quits[last])
		h.quits = h.quits[:last]
	}
	if h.metrics.Size != nil {
		h.metrics.Size.Set(float64(n))
	}
}

// Size returns the number of workers the herd should have.
func (h *Herd[B, R]) Size() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.quits)
}

// Stats returns the herd's counts.
func (h *Herd[B, R]) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Stats{
		Size:        len(h.quits),
		Running:     h.running,
		Busy:        int(h.busy.Load()),
		Succeeded:   h.succeeded.Load(),
		Retried:     h.retried.Load(),
		Failed:      h.failures.Load(),
		InputClosed: h.closedIn,
		Closed:      h.closed,
	}
}

// Close ends the herd without waiting for the work: the function's
// context is cancelled, items not yet finished are dropped, Output closes,
// and Send and Resize return ErrClosed. It returns once every worker has
// left. To finish the work first, call CloseInput and drain Output before
// Close. Close is idempotent and always returns nil; the error is there
// for io.Closer.
func (h *Herd[B, R]) Close() error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		h.cancel()
		h.closeOutputIfDoneLocked()
	}
	h.mu.Unlock()
	h.wg.Wait()
	return nil
}

// closeOutputIfDoneLocked closes the output once no worker is left and no
// work can come any more.
func (h *Herd[B, R]) closeOutputIfDoneLocked() {
	if h.running == 0 && (h.closedIn || h.closed) && !h.outDone {
		h.outDone = true
		close(h.out)
	}
}

// work is one worker: it takes items until told to leave, the input
// closes or the herd is closed.
func (h *Herd[B, R]) work(quit chan struct{}) {
	defer h.wg.Done()
	defer func() {
		h.mu.Lock()
		h.running--
		h.closeOutputIfDoneLocked()
		h.mu.Unlock()
	}()
	for {
		// Leaving comes first: a worker told to go must not take another
		// item just because one is also on offer.
		select {
		case <-quit:
			return
		case <-h.ctx.Done():
			return
		default:
		}
		select {
		case w := <-h.in:
			h.process(&w)
			if w.status == Pending {
				return // closed mid-item
			}
			select {
			case h.out <- w:
			case <-h.ctx.Done():
				return
			}
		case <-quit:
			return
		case <-h.inputClosed:
			return
		case <-h.ctx.Done():
			return
		}
	}
}

// process runs w through the function, retrying as asked, and settles its
// status, counters and callbacks. It leaves w Pending if the herd was closed
// before w ended.
func (h *Herd[B, R]) process(w *Work[B, R]) {
	h.busy.Add(1)
	addGauge(h.metrics.Busy, 1)
	defer func() {
		h.busy.Add(-1)
		addGauge(h.metrics.Busy, -1)
	}()
	for {
		w.attempts++
		st := h.call(w)
		switch st {
		case Success:
			w.status = Success
			h.succeeded.Add(1)
			count(h.metrics.Success)
			runCallback(&h.onSuccess, w)
			return
		case Retry:
			if w.attempts <= h.maxRetries {
				w.status = Retry
				h.retried.Add(1)
				count(h.metrics.Retry)
				runCallback(&h.onRetry, w)
				w.status = Pending
				if !h.pause() {
					return
				}
				continue
			}
			w.Err = joinErr(ErrRetriesExhausted, w.Err)
		case Failure:
		default:
			w.Err = joinErr(fmt.Errorf("%w: %v", ErrInvalidStatus, st), w.Err)
		}
		w.status = Failure
		h.failures.Add(1)
		count(h.metrics.Failure)
		h.logger.Log("msg", "item failed", "id", w.ID, "attempts", w.attempts, "err", w.Err)
		runCallback(&h.onFailure, w)
		return
	}
}

// call runs the function, turning a panic into a failure of the item so
// that one bad item does not take the process down.
func (h *Herd[B, R]) call(w *Work[B, R]) (st Status) {
	defer func() {
		if r := recover(); r != nil {
			h.logger.Log("msg", "function panicked", "id", w.ID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			w.Err = joinErr(fmt.Errorf("%w: %v", ErrPanicked, r), w.Err)
			st = Failure
		}
	}()
	return h.fn(h.ctx, w)
}

// pause waits the retry delay; it reports false if the herd was closed.
func (h *Herd[B, R]) pause() bool {
	return backoff.Sleep(h.ctx, h.retryDelay) == nil
}

func count(c metrics.Counter) {
	if c != nil {
		c.Add(1)
	}
}

func addGauge(g metrics.Gauge, d float64) {
	if g != nil {
		g.Add(d)
	}
}

// joinErr wraps both errors, cause first; err may be nil.
func joinErr(cause, err error) error {
	if err == nil {
		return cause
	}
	return fmt.Errorf("%w: %w", cause, err)
}
