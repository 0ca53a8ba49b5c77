package retry

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// waitFor polls cond until it holds or a generous limit passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	limit := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(limit) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

type ctxKey string

func TestDeadlineCtxReportsDeadline(t *testing.T) {
	before := time.Now()
	c := newDeadlineCtx(context.Background(), clock()+int64(time.Hour))
	defer c.finish()
	d, ok := c.Deadline()
	if !ok {
		t.Fatal("Deadline reports no deadline")
	}
	if got := d.Sub(before); got < time.Hour-time.Second || got > time.Hour+time.Second {
		t.Fatalf("deadline %v from now, want about 1h", got)
	}
	// time.Until must measure it on the monotonic clock, as for any
	// deadline made from time.Now.
	if u := time.Until(d); u <= 0 || u > time.Hour {
		t.Fatalf("time.Until(deadline) = %v", u)
	}
	if c.Err() != nil {
		t.Fatalf("Err before the deadline = %v", c.Err())
	}
	if c.inner.Load() != nil {
		t.Fatal("Deadline or Err made the inner context; only Done should")
	}
}

func TestDeadlineCtxErrAfterDeadlineWithoutDone(t *testing.T) {
	c := newDeadlineCtx(context.Background(), clock()+int64(20*time.Millisecond))
	waitFor(t, "Err", func() bool { return c.Err() != nil })
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err = %v, want DeadlineExceeded", c.Err())
	}
	if !isClosed(c.Done()) {
		t.Fatal("Done not closed after the deadline")
	}
	if got := context.Cause(c); !errors.Is(got, context.DeadlineExceeded) {
		t.Fatalf("Cause = %v", got)
	}
	c.finish()
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err after finish = %v, want it to stay DeadlineExceeded", c.Err())
	}
}

func TestDeadlineCtxDoneClosesAtDeadline(t *testing.T) {
	c := newDeadlineCtx(context.Background(), clock()+int64(20*time.Millisecond))
	defer c.finish()
	done := c.Done()
	if isClosed(done) {
		t.Fatal("Done closed before the deadline")
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Done never closed")
	}
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err = %v", c.Err())
	}
}

func TestDeadlineCtxFinishWithoutDone(t *testing.T) {
	c := newDeadlineCtx(context.Background(), clock()+int64(time.Hour))
	c.finish()
	c.finish() // idempotent
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("Err after finish = %v, want Canceled", c.Err())
	}
	if !isClosed(c.Done()) {
		t.Fatal("Done of a finished context is not closed")
	}
	// A child made afterwards is born cancelled, without a goroutine.
	child, cancel := context.WithCancel(c)
	defer cancel()
	if !isClosed(child.Done()) || !errors.Is(child.Err(), context.Canceled) {
		t.Fatalf("child of finished context: Err %v", child.Err())
	}
}

func TestDeadlineCtxFinishCancelsInnerAndChildren(t *testing.T) {
	c := newDeadlineCtx(context.Background(), clock()+int64(time.Hour))
	done := c.Done()
	in := c.inner.Load()
	if in == nil || in == finished {
		t.Fatal("Done did not make the inner context")
	}
	child, cancel := context.WithCancel(c)
	defer cancel()
	fired := make(chan struct{})
	stop := context.AfterFunc(c, func() { close(fired) })
	defer stop()
	c.finish()
	c.finish()
	if !isClosed(done) || !isClosed(child.Done()) {
		t.Fatal("finish did not close Done of the context and its child")
	}
	if !errors.Is(in.ctx.Err(), context.Canceled) {
		t.Fatal("inner context not cancelled: its timer would stay armed")
	}
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("AfterFunc did not run on finish")
	}
}

func TestDeadlineCtxChildrenAttachWithoutGoroutines(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	c := newDeadlineCtx(parent, clock()+int64(time.Hour))
	defer c.finish()
	before := runtime.NumGoroutine()
	children := make([]context.Context, 100)
	for i := range children {
		var cancel context.CancelFunc
		children[i], cancel = context.WithCancel(c)
		defer cancel()
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutines %d -> %d: children of deadlineCtx cost a goroutine each", before, after)
	}
	cancelParent()
	for i, ch := range children {
		select {
		case <-ch.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("child %d not cancelled with the parent", i)
		}
	}
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("Err after parent cancel = %v", c.Err())
	}
}

func TestDeadlineCtxChildSeesDeadline(t *testing.T) {
	c := newDeadlineCtx(context.Background(), clock()+int64(20*time.Millisecond))
	defer c.finish()
	child, cancel := context.WithCancel(c)
	defer cancel()
	select {
	case <-child.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("child not cancelled at the deadline")
	}
	if !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Fatalf("child Err = %v", child.Err())
	}
}

func TestDeadlineCtxValues(t *testing.T) {
	parent := context.WithValue(context.Background(), ctxKey("k"), "v")
	c := newDeadlineCtx(parent, clock()+int64(time.Hour))
	if got := c.Value(ctxKey("k")); got != "v" {
		t.Fatalf("Value before Done = %v", got)
	}
	c.Done()
	if got := c.Value(ctxKey("k")); got != "v" {
		t.Fatalf("Value after Done = %v", got)
	}
	c.finish()
	if got := c.Value(ctxKey("k")); got != "v" {
		t.Fatalf("Value after finish = %v", got)
	}
	if c.String() == "" {
		t.Fatal("empty String")
	}
}

func TestDeadlineCtxParentCancelled(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	c := newDeadlineCtx(parent, clock()+int64(time.Hour))
	defer c.finish()
	cancel()
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("Err = %v", c.Err())
	}
	if !isClosed(c.Done()) {
		t.Fatal("Done open after the parent was cancelled")
	}
}

func TestDeadlineCtxConcurrentDoneAndFinish(t *testing.T) {
	for range 200 {
		c := newDeadlineCtx(context.Background(), clock()+int64(time.Hour))
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				select {
				case <-c.Done():
				case <-time.After(10 * time.Second):
					t.Error("Done not closed after finish")
				}
			})
		}
		wg.Go(c.finish)
		wg.Wait()
		if c.Err() == nil {
			t.Fatal("Err nil after finish")
		}
		if in := c.inner.Load(); in != finished && in.ctx.Err() == nil {
			t.Fatal("inner context left running after finish")
		}
	}
}
