package limit_test

// What a workpool user meets: a limiter tied to a context, and
// Lease.IsZero.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/limit"
)

func TestWithContextClosesTheLimiter(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	lim := newLimiter[string](t, limit.WithContext(ctx))
	if err := lim.Set("spam", 1); err != nil {
		t.Fatal(err)
	}
	l := <-lim.Leases()
	if l.IsZero() || l.Key() != "spam" {
		t.Fatalf("first lease %v", l)
	}
	waiting := make(chan error, 1)
	go func() {
		_, err := lim.Acquire(context.Background(), "spam") // full: waits
		waiting <- err
	}()
	cancel()
	select {
	case <-lim.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("cancelling the context did not close the limiter")
	}
	if err := <-waiting; !errors.Is(err, limit.ErrClosed) {
		t.Errorf("waiting Acquire = %v, want ErrClosed", err)
	}
	// workpool's idiom: a receive after the stop gives the zero lease.
	if l := <-lim.Leases(); !l.IsZero() {
		t.Errorf("lease received after close = %v, want the zero lease", l)
	}
	l.Release()
	if err := lim.Close(); err != nil {
		t.Error(err)
	}
}

func TestWithContextUntiedByClose(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lim := newLimiter[int](t, limit.WithContext(ctx))
	if err := lim.Close(); err != nil {
		t.Fatal(err)
	}
	cancel() // nothing left to do; goleak checks no goroutine runs
	if _, err := limit.New[int](limit.WithContext(nil)); !errors.Is(err, limit.ErrInvalidArgument) {
		t.Errorf("WithContext(nil) = %v, want ErrInvalidArgument", err)
	}

	done, stop := context.WithCancel(context.Background())
	stop()
	lim2, err := limit.New[int](limit.WithContext(done)) // already done
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-lim2.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a limiter on a done context stayed open")
	}
	lim2.Close()
}

func TestLeaseIsZero(t *testing.T) {
	var nilLease *limit.Lease[string]
	if !nilLease.IsZero() || !(&limit.Lease[string]{}).IsZero() {
		t.Error("nil or zero lease: IsZero false")
	}
	lim := newLimiter[string](t)
	lim.Set("k", 1)
	l, ok := lim.TryAcquire("k")
	if !ok || l.IsZero() {
		t.Fatalf("TryAcquire = %v, %v; IsZero of a real lease must be false", l, ok)
	}
	l.Release()
	if l.IsZero() {
		t.Error("a released lease counts as zero; it is still a lease")
	}
}
