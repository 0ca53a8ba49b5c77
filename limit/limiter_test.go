package limit_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed41aebe0c/lbkit/limit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newLimiter[K comparable](t *testing.T, opts ...limit.Option) *limit.Limiter[K] {
	t.Helper()
	lim, err := limit.New[K](opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lim.Close() })
	return lim
}

func mustAcquire[K comparable](t *testing.T, lim *limit.Limiter[K], key K) *limit.Lease[K] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := lim.Acquire(ctx, key)
	if err != nil {
		t.Fatalf("Acquire(%v): %v", key, err)
	}
	return l
}

func wantCounts[K comparable](t *testing.T, lim *limit.Limiter[K], key K, want limit.Counts) {
	t.Helper()
	if got := lim.Get(key); got != want {
		t.Fatalf("Get(%v) = %+v, want %+v", key, got, want)
	}
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// acquireAsync starts an Acquire and returns where its outcome will land.
func acquireAsync[K comparable](ctx context.Context, lim *limit.Limiter[K], key K) <-chan error {
	out := make(chan error, 1)
	go func() {
		l, err := lim.Acquire(ctx, key)
		if err == nil {
			l.Release()
		}
		out <- err
	}()
	return out
}

// offered reports whether the feeder has taken key's only slot for its
// offer.
func offered[K comparable](lim *limit.Limiter[K], key K) func() bool {
	return func() bool {
		l, ok := lim.TryAcquire(key)
		if ok {
			l.Release()
		}
		return !ok
	}
}

func TestBadInput(t *testing.T) {
	if _, err := limit.New[string](limit.WithDefaultTarget(-1)); !errors.Is(err, limit.ErrInvalidArgument) {
		t.Fatalf("negative default: %v", err)
	}
	if _, err := limit.New[string](nil); !errors.Is(err, limit.ErrInvalidArgument) {
		t.Fatalf("nil option: %v", err)
	}
	lim := newLimiter[string](t)
	if err := lim.Set("a", -1); !errors.Is(err, limit.ErrInvalidArgument) {
		t.Fatalf("negative target: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := lim.Acquire(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with a done context: %v", err)
	}
}

func TestAcquireUpToTarget(t *testing.T) {
	lim := newLimiter[string](t)
	wantCounts(t, lim, "a", limit.Counts{})
	if err := lim.Set("a", 2); err != nil {
		t.Fatal(err)
	}
	l1, l2 := mustAcquire(t, lim, "a"), mustAcquire(t, lim, "a")
	if l1.Key() != "a" || l1.ID() == l2.ID() {
		t.Fatalf("leases %v/%d and %v/%d", l1.Key(), l1.ID(), l2.Key(), l2.ID())
	}
	wantCounts(t, lim, "a", limit.Counts{Target: 2, Active: 2})
	if _, ok := lim.TryAcquire("a"); ok {
		t.Fatal("TryAcquire beyond the target")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := lim.Acquire(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire beyond the target: %v", err)
	}
	wantCounts(t, lim, "a", limit.Counts{Target: 2, Active: 2})

	l1.Release()
	l1.Release() // idempotent: must not free a second slot
	wantCounts(t, lim, "a", limit.Counts{Target: 2, Active: 1})
	l3, ok := lim.TryAcquire("a")
	if !ok {
		t.Fatal("TryAcquire with room")
	}
	if _, ok := lim.TryAcquire("a"); ok {
		t.Fatal("double Release freed two slots")
	}
	l2.Release()
	l3.Release()
	wantCounts(t, lim, "a", limit.Counts{Target: 2})
	// Other keys are independent and, without a default, have no room.
	if _, ok := lim.TryAcquire("b"); ok {
		t.Fatal("a key never Set got a lease")
	}
}

func TestLoweringTargetBlocksUntilEnoughReleased(t *testing.T) {
	lim := newLimiter[string](t)
	_ = lim.Set("a", 3)
	held := []*limit.Lease[string]{mustAcquire(t, lim, "a"), mustAcquire(t, lim, "a"), mustAcquire(t, lim, "a")}
	_ = lim.Set("a", 1)
	wantCounts(t, lim, "a", limit.Counts{Target: 1, Active: 3})

	got := acquireAsync(context.Background(), lim, "a")
	waitFor(t, "the caller to wait", func() bool { return lim.Get("a").Waiting == 1 })
	// Grants happen inside Release, so the counts after each one are exact.
	held[0].Release()
	wantCounts(t, lim, "a", limit.Counts{Target: 1, Active: 2, Waiting: 1})
	held[1].Release()
	wantCounts(t, lim, "a", limit.Counts{Target: 1, Active: 1, Waiting: 1})
	held[2].Release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	wantCounts(t, lim, "a", limit.Counts{Target: 1})
}

func TestRaisingTargetGrantsWaitersInOrder(t *testing.T) {
	lim := newLimiter[string](t)
	// Lease IDs increase in the order leases are granted.
	var ids [3]atomic.Uint64
	var running atomic.Int64
	var wg sync.WaitGroup
	release := make(chan struct{})
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := lim.Acquire(context.Background(), "a")
			if err != nil {
				t.Error(err)
				return
			}
			ids[i].Store(l.ID())
			running.Add(1)
			<-release
			l.Release()
		}()
		// Queue them one at a time so the line's order is known.
		waitFor(t, "caller to queue", func() bool { return lim.Get("a").Waiting == i+1 })
	}
	wantCounts(t, lim, "a", limit.Counts{Waiting: 3})
	_ = lim.Set("a", 2)
	wantCounts(t, lim, "a", limit.Counts{Target: 2, Active: 2, Waiting: 1})
	waitFor(t, "two callers to run", func() bool { return running.Load() == 2 })
	if ids[2].Load() != 0 {
		t.Fatal("the last in line was served before the first two")
	}
	close(release)
	wg.Wait()
	if !(ids[0].Load() < ids[1].Load() && ids[1].Load() < ids[2].Load()) {
		t.Fatalf("grant order by lease ID: %d %d %d", ids[0].Load(), ids[1].Load(), ids[2].Load())
	}
}

func TestAbandonedWaitDoesNotLeakASlot(t *testing.T) {
	lim := newLimiter[string](t)
	_ = lim.Set("a", 1)
	l := mustAcquire(t, lim, "a")
	for range 50 {
		ctx, cancel := context.WithCancel(context.Background())
		got := acquireAsync(ctx, lim, "a")
		waitFor(t, "the caller to wait", func() bool { return lim.Get("a").Waiting == 1 })
		cancel()
		if err := <-got; !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	}
	wantCounts(t, lim, "a", limit.Counts{Target: 1, Active: 1})
	l.Release()
	if _, ok := lim.TryAcquire("a"); !ok {
		t.Fatal("the slot was lost")
	}
}

func TestDefaultTargetAndForgetting(t *testing.T) {
	lim := newLimiter[int](t, limit.WithDefaultTarget(2))
	wantCounts(t, lim, 7, limit.Counts{Target: 2})
	a, b := mustAcquire(t, lim, 7), mustAcquire(t, lim, 7)
	if _, ok := lim.TryAcquire(7); ok {
		t.Fatal("beyond the default target")
	}
	a.Release()
	b.Release()
	wantCounts(t, lim, 7, limit.Counts{Target: 2})

	_ = lim.Set(7, 5)
	wantCounts(t, lim, 7, limit.Counts{Target: 5})
	if err := lim.Unset(7); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, lim, 7, limit.Counts{Target: 2})
	if err := lim.Unset(8); err != nil { // never seen: nothing to do
		t.Fatal(err)
	}
}

func TestLimitHoldsUnderConcurrency(t *testing.T) {
	lim := newLimiter[int](t)
	const keys = 4
	var current, peak [keys]atomic.Int64
	for k := range keys {
		_ = lim.Set(k, k+1)
	}
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range 300 {
				k := r.IntN(keys)
				var l *limit.Lease[int]
				if r.IntN(4) == 0 {
					var ok bool
					if l, ok = lim.TryAcquire(k); !ok {
						continue
					}
				} else {
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(3))*time.Millisecond)
					var err error
					l, err = lim.Acquire(ctx, k)
					cancel()
					if err != nil {
						continue
					}
				}
				n := current[k].Add(1)
				for {
					if old := peak[k].Load(); n <= old || peak[k].CompareAndSwap(old, n) {
						break
					}
				}
				if r.IntN(8) == 0 {
					// Change a target mid-flight: never below 1 so that
					// the final check below is simple.
					_ = lim.Set(r.IntN(keys), 1+r.IntN(keys))
				}
				current[k].Add(-1)
				l.Release()
			}
		}()
	}
	wg.Wait()
	for k := range keys {
		if got := lim.Get(k); got.Active != 0 || got.Waiting != 0 {
			t.Fatalf("key %d left %+v", k, got)
		}
		if peak[k].Load() > keys {
			t.Fatalf("key %d peaked at %d leases, above every target it had", k, peak[k].Load())
		}
	}
}

func TestClose(t *testing.T) {
	lim, err := limit.New[string]()
	if err != nil {
		t.Fatal(err)
	}
	_ = lim.Set("a", 1)
	held := mustAcquire(t, lim, "a")
	waiting := acquireAsync(context.Background(), lim, "a")
	waitFor(t, "the caller to wait", func() bool { return lim.Get("a").Waiting == 1 })
	leases := lim.Leases()

	if err := lim.Close(); err != nil {
		t.Fatal(err)
	}
	if err := lim.Close(); err != nil { // idempotent
		t.Fatalf("second Close: %v", err)
	}
	if err := <-waiting; !errors.Is(err, limit.ErrClosed) {
		t.Fatalf("waiting Acquire after Close: %v", err)
	}
	if _, ok := <-leases; ok {
		t.Fatal("Leases channel open after Close")
	}
	if _, ok := <-lim.Leases(); ok {
		t.Fatal("Leases channel open after Close")
	}
	select {
	case <-lim.Done():
	default:
		t.Fatal("Done not closed")
	}
	if _, err := lim.Acquire(context.Background(), "a"); !errors.Is(err, limit.ErrClosed) {
		t.Fatalf("Acquire after Close: %v", err)
	}
	if _, ok := lim.TryAcquire("a"); ok {
		t.Fatal("TryAcquire after Close")
	}
	if err := lim.Set("a", 2); !errors.Is(err, limit.ErrClosed) {
		t.Fatalf("Set after Close: %v", err)
	}
	if err := lim.Unset("a"); !errors.Is(err, limit.ErrClosed) {
		t.Fatalf("Unset after Close: %v", err)
	}
	held.Release() // harmless
}

func TestLeasesNeverStartedClose(t *testing.T) {
	lim, _ := limit.New[string]()
	if err := lim.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-lim.Leases(); ok {
		t.Fatal("Leases channel open on a closed limiter")
	}
}

func TestLeasesChannelKeepsEachKeyAtItsTarget(t *testing.T) {
	lim := newLimiter[string](t)
	_ = lim.Set("spam", 2)
	_ = lim.Set("eggs", 1)
	_ = lim.Set("none", 0)
	leases := lim.Leases()
	got := map[string]int{}
	var held []*limit.Lease[string]
	for range 3 {
		l := <-leases
		got[l.Key()]++
		held = append(held, l)
	}
	if got["spam"] != 2 || got["eggs"] != 1 {
		t.Fatalf("first three leases: %v", got)
	}
	// Everything is at its target: releasing an eggs lease makes the next
	// one an eggs lease.
	for _, l := range held {
		if l.Key() == "eggs" {
			l.Release()
		}
	}
	if l := <-leases; l.Key() != "eggs" {
		t.Fatalf("got a %q lease, want eggs", l.Key())
	} else {
		l.Release()
	}
	for _, l := range held {
		l.Release()
	}
}

func TestLeasesWithdrawnForAWaiter(t *testing.T) {
	lim := newLimiter[string](t)
	_ = lim.Set("a", 1)
	_ = lim.Leases() // the feeder now offers the only "a" lease, unreceived
	// An offered lease is not counted as active, but it takes the slot.
	waitFor(t, "the offer", offered(lim, "a"))
	// A caller of Acquire comes first: the offer is withdrawn for it.
	l := mustAcquire(t, lim, "a")
	l.Release()
}

func TestLeasesNotOfferedAfterTargetLowered(t *testing.T) {
	lim := newLimiter[string](t)
	_ = lim.Set("a", 1)
	leases := lim.Leases()
	waitFor(t, "the offer", offered(lim, "a"))
	_ = lim.Set("a", 0)
	_ = lim.Set("b", 1)
	for range 20 {
		l := <-leases
		if l.Key() != "b" {
			t.Fatalf("received a lease of %q after its target went to 0", l.Key())
		}
		l.Release()
	}
	wantCounts(t, lim, "a", limit.Counts{})
}

// Close from several goroutines at once (a shutdown path and a deferred
// Close, say) must neither panic on a second close(done) nor return before
// the feeder has ended: goleak in TestMain checks the latter.
func TestConcurrentClose(t *testing.T) {
	lim, _ := limit.New[string]()
	_ = lim.Set("a", 1)
	_ = lim.Leases()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := lim.Close(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if _, err := lim.Acquire(context.Background(), "a"); !errors.Is(err, limit.ErrClosed) {
		t.Fatalf("Acquire after Close: %v", err)
	}
}
