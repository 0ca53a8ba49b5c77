package limit

import (
	"context"
	"testing"
)

func keysHeld[K comparable](lim *Limiter[K]) int {
	n := 0
	lim.groups.Range(func(_, _ any) bool { n++; return true })
	return n
}

// A waiter whose context ends just as it is granted a lease must pass the
// lease on to the next in line.
func TestAbandonAfterGrantPassesTheLeaseOn(t *testing.T) {
	lim, _ := New[string]()
	defer lim.Close()
	_ = lim.Set("a", 1)
	held, _ := lim.TryAcquire("a")

	g := lim.lockGroup("a", false)
	w1 := &waiter[string]{ch: make(chan *Lease[string], 1)}
	w2 := &waiter[string]{ch: make(chan *Lease[string], 1)}
	g.waiters.push(w1)
	g.waiters.push(w2)
	g.mu.Unlock()

	held.Release() // grants w1
	if len(w1.ch) != 1 || w1.queued {
		t.Fatal("w1 not granted")
	}
	lim.abandon(g, w1) // w1's context ended before it took the lease
	if len(w2.ch) != 1 {
		t.Fatal("the lease did not pass to w2")
	}
	if c := lim.Get("a"); c.Active != 1 || c.Waiting != 0 {
		t.Fatalf("counts %+v", c)
	}
	(<-w2.ch).Release()
}

func TestUnpinnedKeysAreForgotten(t *testing.T) {
	lim, _ := New[int](WithDefaultTarget(1))
	defer lim.Close()
	for k := range 1000 {
		l, err := lim.Acquire(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := lim.TryAcquire(k); ok {
			t.Fatal("beyond the default target")
		}
		l.Release()
	}
	_ = lim.Set(5, 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _ = lim.Acquire(ctx, 6)
	if n := keysHeld(lim); n != 1 {
		t.Fatalf("the limiter remembers %d keys, want only the one Set", n)
	}
	_ = lim.Unset(5)
	if n := keysHeld(lim); n != 0 {
		t.Fatalf("the limiter remembers %d keys after Unset", n)
	}
}
