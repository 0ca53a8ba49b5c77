package retry

import (
	"context"
	"sync/atomic"
	"time"
)

// deadlineCtx is a context.Context with a deadline whose timer and Done
// channel exist only if somebody asks for them.
//
// context.WithTimeout costs about 0.45 µs and four allocations because it
// arms a timer and makes a channel up front; most endpoints never look at
// Done (they finish long before the deadline, or read only Deadline to pass
// it on as a wire timeout), so that work is wasted on the success path.
// deadlineCtx is one small allocation. The first call to Done (directly, or
// through context.WithCancel/AfterFunc on it) creates the real inner
// context with context.WithDeadline, and from then on Done, Err and Value
// delegate to it. Delegating Value matters: the standard library recognises
// a parent it can attach children to by the value under its private
// cancel-context key, so children of a deadlineCtx hang directly off the
// inner context instead of each costing a goroutine.
//
// finish plays the part of the CancelFunc: it cancels the inner context if
// there is one, and otherwise marks the context over so that anyone holding
// it afterwards sees it cancelled, as they would with WithTimeout.
type deadlineCtx struct {
	parent context.Context
	dl     int64 // the deadline on the package clock
	inner  atomic.Pointer[innerCtx]
}

type innerCtx struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// finished is what inner holds once finish ran before anyone asked for Done.
var finished = &innerCtx{}

// closedChan is the Done channel of a finished deadlineCtx.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// newDeadlineCtx returns a context whose deadline is dl on the package
// clock. Its Deadline is epoch plus dl, which carries a monotonic reading,
// so that time.Until and context.WithDeadline measure it on the monotonic
// clock like any deadline made from time.Now.
func newDeadlineCtx(parent context.Context, dl int64) *deadlineCtx {
	return &deadlineCtx{parent: parent, dl: dl}
}

// Deadline implements context.Context. The constructor's callers only make
// a deadlineCtx when its deadline is earlier than the parent's.
func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.time(), true }

func (c *deadlineCtx) time() time.Time { return epoch.Add(time.Duration(c.dl)) }

// Done implements context.Context, creating the inner context on first use.
func (c *deadlineCtx) Done() <-chan struct{} {
	in := c.materialize()
	if in == finished {
		return closedChan
	}
	return in.ctx.Done()
}

// Err implements context.Context.
func (c *deadlineCtx) Err() error {
	switch in := c.inner.Load(); {
	case in == finished:
		return context.Canceled
	case in != nil:
		return in.ctx.Err()
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if clock() < c.dl {
		return nil
	}
	// Past the deadline: make the inner context (it is born expired) so
	// that Err keeps saying DeadlineExceeded after finish, as the standard
	// library's contexts do.
	if in := c.materialize(); in != finished {
		return in.ctx.Err()
	}
	return context.Canceled
}

// Value implements context.Context.
func (c *deadlineCtx) Value(key any) any {
	if in := c.inner.Load(); in != nil && in != finished {
		return in.ctx.Value(key)
	}
	return c.parent.Value(key)
}

// String names the context in the standard library's context dumps.
func (c *deadlineCtx) String() string {
	return "retry.deadlineCtx(" + c.time().String() + ")"
}

func (c *deadlineCtx) materialize() *innerCtx {
	if in := c.inner.Load(); in != nil {
		return in
	}
	ctx, cancel := context.WithDeadline(c.parent, c.time())
	in := &innerCtx{ctx: ctx, cancel: cancel}
	if c.inner.CompareAndSwap(nil, in) {
		return in
	}
	// Another goroutine won the race, or finish ran: drop ours.
	cancel()
	return c.inner.Load()
}

// finish ends the context: it cancels the inner context and stops its timer
// if one was made, or marks the context cancelled if not. It is idempotent.
func (c *deadlineCtx) finish() {
	if c.inner.CompareAndSwap(nil, finished) {
		return
	}
	if in := c.inner.Load(); in != finished {
		in.cancel()
	}
}
