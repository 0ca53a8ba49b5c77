package herd_test

// What a gofherd user meets: /herd replies with "num", the metric names,
// resizing by n, and callbacks set after construction.

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/seed41aebe0c/lbkit/herd"
)

func TestHandlerAnswersInGofherdShape(t *testing.T) {
	h := newHerd(t, addTen, herd.WithSize(2))
	hd := h.Handler()
	if code, v, _ := do(t, hd, http.MethodGet, ""); code != 200 || v["num"] != 2.0 || v["size"] != 2.0 {
		t.Fatalf("GET: %d %v, want num and size 2", code, v)
	}
	// gofherd's README: curl -XPATCH 127.0.0.1:5555/herd -d '{"num": 10}'
	if code, v, _ := do(t, hd, http.MethodPatch, `{"num": 10}`); code != 200 || v["num"] != 10.0 || v["size"] != 10.0 || h.Size() != 10 {
		t.Fatalf("PATCH num: %d %v, size %d", code, v, h.Size())
	}
}

func TestResizeByIsAtomic(t *testing.T) {
	h := newHerd(t, addTen, herd.WithSize(0))
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			if _, err := h.ResizeBy(1); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if h.Size() != 40 {
		t.Fatalf("40 concurrent ResizeBy(1) from 0: size %d", h.Size())
	}
	for range 15 {
		wg.Go(func() {
			if _, err := h.ResizeBy(-2); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n, err := h.ResizeBy(0); err != nil || n != 10 || h.Size() != 10 {
		t.Fatalf("after 15 concurrent ResizeBy(-2): %d, %v", n, err)
	}
	if n, err := h.ResizeBy(-11); !errors.Is(err, herd.ErrInvalidArgument) || n != 10 || h.Size() != 10 {
		t.Errorf("ResizeBy(-11) at 10 = %d, %v; want ErrInvalidArgument and no change", n, err)
	}
	if n, err := h.ResizeBy(-10); err != nil || n != 0 {
		t.Errorf("ResizeBy(-10) at 10 = %d, %v", n, err)
	}
	waitFor(t, "every worker to leave", func() bool { return h.Stats().Running == 0 })
	h.Close()
	if _, err := h.ResizeBy(1); !errors.Is(err, herd.ErrClosed) {
		t.Errorf("ResizeBy after Close = %v, want ErrClosed", err)
	}
}

// TestCallbacksSetWhileRunning: callbacks set, replaced and removed while
// workers run (the race detector checks the safety); each item sees the
// callback in place when it finished.
func TestCallbacksSetWhileRunning(t *testing.T) {
	release := make(chan struct{})
	fn := func(_ context.Context, w *item) herd.Status {
		if w.Body == 0 {
			<-release // the first item finishes after the callback is set
		}
		if w.Body%2 == 1 && w.Attempts() == 1 {
			return herd.Retry
		}
		if w.Body%3 == 2 {
			return herd.Failure
		}
		return herd.Success
	}
	h := newHerd(t, fn, herd.WithSize(4))
	var succ, retries, fails atomic.Int64
	h.SetOnSuccess(func(*item) { succ.Add(1) })
	h.SetOnRetry(func(*item) { retries.Add(1) })
	h.SetOnFailure(func(*item) { fails.Add(1) })
	sendAll(t, h, 30)
	var wg sync.WaitGroup
	wg.Go(func() { // concurrent replacing with an equivalent callback
		for range 50 {
			h.SetOnSuccess(func(*item) { succ.Add(1) })
		}
		close(release)
	})
	out := collect(t, h)
	wg.Wait()
	var wantS, wantF int64
	for _, w := range out {
		switch w.Status() {
		case herd.Success:
			wantS++
		case herd.Failure:
			wantF++
		}
	}
	if len(out) != 30 || succ.Load() != wantS || fails.Load() != wantF || retries.Load() != 15 {
		t.Errorf("%d items; callbacks: %d successes (want %d), %d failures (want %d), %d retries (want 15)",
			len(out), succ.Load(), wantS, fails.Load(), wantF, retries.Load())
	}

	// nil removes a callback.
	h2 := newHerd(t, addTen)
	var n atomic.Int64
	h2.SetOnSuccess(func(*item) { n.Add(1) })
	h2.SetOnSuccess(nil)
	sendAll(t, h2, 5)
	if got := len(collect(t, h2)); got != 5 || n.Load() != 0 {
		t.Errorf("%d items, removed callback called %d times", got, n.Load())
	}
}
