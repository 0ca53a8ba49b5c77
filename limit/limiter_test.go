package lease_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed41aebe0c/lbkit/pooling/lease"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newPool[K comparable](t *testing.T, opts ...lease.Option) *lease.Pool[K] {
	t.Helper()
	p, err := lease.New[K](opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

func mustAcquire[K comparable](t *testing.T, p *lease.Pool[K], key K) *lease.Lease[K] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := p.Acquire(ctx, key)
	if err != nil {
		t.Fatalf("Acquire(%v): %v", key, err)
	}
	return l
}

func wantCounts[K comparable](t *testing.T, p *lease.Pool[K], key K, want lease.Counts) {
	t.Helper()
	if got := p.Get(key); got != want {
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
func acquireAsync[K comparable](ctx context.Context, p *lease.Pool[K], key K) <-chan error {
	out := make(chan error, 1)
	go func() {
		l, err := p.Acquire(ctx, key)
		if err == nil {
			l.Release()
		}
		out <- err
	}()
	return out
}

// offered reports whether the feeder has taken key's only slot for its
// offer.
func offered[K comparable](p *lease.Pool[K], key K) func() bool {
	return func() bool {
		l, ok := p.TryAcquire(key)
		if ok {
			l.Release()
		}
		return !ok
	}
}

func TestBadInput(t *testing.T) {
	if _, err := lease.New[string](lease.WithDefaultTarget(-1)); !errors.Is(err, lease.ErrInvalidArgument) {
		t.Fatalf("negative default: %v", err)
	}
	if _, err := lease.New[string](nil); !errors.Is(err, lease.ErrInvalidArgument) {
		t.Fatalf("nil option: %v", err)
	}
	p := newPool[string](t)
	if err := p.Set("a", -1); !errors.Is(err, lease.ErrInvalidArgument) {
		t.Fatalf("negative target: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Acquire(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with a done context: %v", err)
	}
}

func TestAcquireUpToTarget(t *testing.T) {
	p := newPool[string](t)
	wantCounts(t, p, "a", lease.Counts{})
	if err := p.Set("a", 2); err != nil {
		t.Fatal(err)
	}
	l1, l2 := mustAcquire(t, p, "a"), mustAcquire(t, p, "a")
	if l1.Key() != "a" || l1.ID() == l2.ID() {
		t.Fatalf("leases %v/%d and %v/%d", l1.Key(), l1.ID(), l2.Key(), l2.ID())
	}
	wantCounts(t, p, "a", lease.Counts{Target: 2, Active: 2})
	if _, ok := p.TryAcquire("a"); ok {
		t.Fatal("TryAcquire beyond the target")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := p.Acquire(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire beyond the target: %v", err)
	}
	wantCounts(t, p, "a", lease.Counts{Target: 2, Active: 2})

	l1.Release()
	l1.Release() // idempotent: must not free a second slot
	wantCounts(t, p, "a", lease.Counts{Target: 2, Active: 1})
	l3, ok := p.TryAcquire("a")
	if !ok {
		t.Fatal("TryAcquire with room")
	}
	if _, ok := p.TryAcquire("a"); ok {
		t.Fatal("double Release freed two slots")
	}
	l2.Release()
	l3.Release()
	wantCounts(t, p, "a", lease.Counts{Target: 2})
	// Other keys are independent and, without a default, have no room.
	if _, ok := p.TryAcquire("b"); ok {
		t.Fatal("a key never Set got a lease")
	}
}

func TestLoweringTargetBlocksUntilEnoughReleased(t *testing.T) {
	p := newPool[string](t)
	_ = p.Set("a", 3)
	held := []*lease.Lease[string]{mustAcquire(t, p, "a"), mustAcquire(t, p, "a"), mustAcquire(t, p, "a")}
	_ = p.Set("a", 1)
	wantCounts(t, p, "a", lease.Counts{Target: 1, Active: 3})

	got := acquireAsync(context.Background(), p, "a")
	waitFor(t, "the caller to wait", func() bool { return p.Get("a").Waiting == 1 })
	// Grants happen inside Release, so the counts after each one are exact.
	held[0].Release()
	wantCounts(t, p, "a", lease.Counts{Target: 1, Active: 2, Waiting: 1})
	held[1].Release()
	wantCounts(t, p, "a", lease.Counts{Target: 1, Active: 1, Waiting: 1})
	held[2].Release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	wantCounts(t, p, "a", lease.Counts{Target: 1})
}

func TestRaisingTargetGrantsWaitersInOrder(t *testing.T) {
	p := newPool[string](t)
	// Lease IDs increase in the order leases are granted.
	var ids [3]atomic.Uint64
	var running atomic.Int64
	var wg sync.WaitGroup
	release := make(chan struct{})
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := p.Acquire(context.Background(), "a")
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
		waitFor(t, "caller to queue", func() bool { return p.Get("a").Waiting == i+1 })
	}
	wantCounts(t, p, "a", lease.Counts{Waiting: 3})
	_ = p.Set("a", 2)
	wantCounts(t, p, "a", lease.Counts{Target: 2, Active: 2, Waiting: 1})
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
	p := newPool[string](t)
	_ = p.Set("a", 1)
	l := mustAcquire(t, p, "a")
	for range 50 {
		ctx, cancel := context.WithCancel(context.Background())
		got := acquireAsync(ctx, p, "a")
		waitFor(t, "the caller to wait", func() bool { return p.Get("a").Waiting == 1 })
		cancel()
		if err := <-got; !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	}
	wantCounts(t, p, "a", lease.Counts{Target: 1, Active: 1})
	l.Release()
	if _, ok := p.TryAcquire("a"); !ok {
		t.Fatal("the slot was lost")
	}
}

func TestDefaultTargetAndForgetting(t *testing.T) {
	p := newPool[int](t, lease.WithDefaultTarget(2))
	wantCounts(t, p, 7, lease.Counts{Target: 2})
	a, b := mustAcquire(t, p, 7), mustAcquire(t, p, 7)
	if _, ok := p.TryAcquire(7); ok {
		t.Fatal("beyond the default target")
	}
	a.Release()
	b.Release()
	wantCounts(t, p, 7, lease.Counts{Target: 2})

	_ = p.Set(7, 5)
	wantCounts(t, p, 7, lease.Counts{Target: 5})
	if err := p.Unset(7); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, p, 7, lease.Counts{Target: 2})
	if err := p.Unset(8); err != nil { // never seen: nothing to do
		t.Fatal(err)
	}
}

func TestLimitHoldsUnderConcurrency(t *testing.T) {
	p := newPool[int](t)
	const keys = 4
	var current, peak [keys]atomic.Int64
	for k := range keys {
		_ = p.Set(k, k+1)
	}
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range 300 {
				k := r.IntN(keys)
				var l *lease.Lease[int]
				if r.IntN(4) == 0 {
					var ok bool
					if l, ok = p.TryAcquire(k); !ok {
						continue
					}
				} else {
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(3))*time.Millisecond)
					var err error
					l, err = p.Acquire(ctx, k)
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
					_ = p.Set(r.IntN(keys), 1+r.IntN(keys))
				}
				current[k].Add(-1)
				l.Release()
			}
		}()
	}
	wg.Wait()
	for k := range keys {
		if got := p.Get(k); got.Active != 0 || got.Waiting != 0 {
			t.Fatalf("key %d left %+v", k, got)
		}
		if peak[k].Load() > keys {
			t.Fatalf("key %d peaked at %d leases, above every target it had", k, peak[k].Load())
		}
	}
}

func TestStop(t *testing.T) {
	p, err := lease.New[string]()
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Set("a", 1)
	held := mustAcquire(t, p, "a")
	waiting := acquireAsync(context.Background(), p, "a")
	waitFor(t, "the caller to wait", func() bool { return p.Get("a").Waiting == 1 })
	leases := p.Leases()

	p.Stop()
	p.Stop() // idempotent
	if err := <-waiting; !errors.Is(err, lease.ErrStopped) {
		t.Fatalf("waiting Acquire after Stop: %v", err)
	}
	if _, ok := <-leases; ok {
		t.Fatal("Leases channel open after Stop")
	}
	if _, ok := <-p.Leases(); ok {
		t.Fatal("Leases channel open after Stop")
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("Done not closed")
	}
	if _, err := p.Acquire(context.Background(), "a"); !errors.Is(err, lease.ErrStopped) {
		t.Fatalf("Acquire after Stop: %v", err)
	}
	if _, ok := p.TryAcquire("a"); ok {
		t.Fatal("TryAcquire after Stop")
	}
	if err := p.Set("a", 2); !errors.Is(err, lease.ErrStopped) {
		t.Fatalf("Set after Stop: %v", err)
	}
	if err := p.Unset("a"); !errors.Is(err, lease.ErrStopped) {
		t.Fatalf("Unset after Stop: %v", err)
	}
	held.Release() // harmless
}

func TestLeasesNeverStartedStop(t *testing.T) {
	p, _ := lease.New[string]()
	p.Stop()
	if _, ok := <-p.Leases(); ok {
		t.Fatal("Leases channel open on a stopped pool")
	}
}

func TestLeasesChannelKeepsEachKeyAtItsTarget(t *testing.T) {
	p := newPool[string](t)
	_ = p.Set("spam", 2)
	_ = p.Set("eggs", 1)
	_ = p.Set("none", 0)
	leases := p.Leases()
	got := map[string]int{}
	var held []*lease.Lease[string]
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
	p := newPool[string](t)
	_ = p.Set("a", 1)
	_ = p.Leases() // the feeder now offers the only "a" lease, unreceived
	// An offered lease is not counted as active, but it takes the slot.
	waitFor(t, "the offer", offered(p, "a"))
	// A caller of Acquire comes first: the offer is withdrawn for it.
	l := mustAcquire(t, p, "a")
	l.Release()
}

func TestLeasesNotOfferedAfterTargetLowered(t *testing.T) {
	p := newPool[string](t)
	_ = p.Set("a", 1)
	leases := p.Leases()
	waitFor(t, "the offer", offered(p, "a"))
	_ = p.Set("a", 0)
	_ = p.Set("b", 1)
	for range 20 {
		l := <-leases
		if l.Key() != "b" {
			t.Fatalf("received a lease of %q after its target went to 0", l.Key())
		}
		l.Release()
	}
	wantCounts(t, p, "a", lease.Counts{})
}
