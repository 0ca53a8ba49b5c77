package pooling_test

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/pooling"
)

// Races of the lane (pool_lane.go): a Put parking a connection while a Get
// starts to wait, or while the pool closes; Stats while Gets and Puts run;
// a parked connection outliving its idle timeout.

// With one connection and two goroutines taking turns, every Get that finds
// it out waits, and the Put that races it must hand it over rather than
// park it in the lane unseen: a lost hand-over shows as a wait timeout.
func TestPoolLaneHandsOverToGetAboutToWait(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithMaxConns(1),
		pooling.WithoutTestOnBorrow(), pooling.WithWaitTimeout(2*time.Second))
	const workers, rounds = 6, 2000
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				c, err := p.Get(bg())
				if err != nil {
					t.Error(err)
					return
				}
				if err := p.Put(c, nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := p.Stats()
	if st.Gets != workers*rounds || st.Puts != workers*rounds || st.GetFailures != 0 || st.Dialled != 1 || st.Idle != 1 || st.InUse != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// A Get that starts to wait after a Put has looked for waiters, but before
// it parks its connection, gets that connection: the Put looks again.
func TestPoolLanePutRacingGetAboutToWait(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithMaxConns(1),
		pooling.WithoutTestOnBorrow(), pooling.WithWaitTimeout(2*time.Second))
	c := get(t, p)
	got := make(chan error, 1)
	pooling.SetParkHook(func() {
		pooling.SetParkHook(nil)
		go func() {
			w, err := p.Get(bg())
			if err == nil {
				err = p.Put(w, nil)
			}
			got <- err
		}()
		eventually(t, "a waiting Get", func() bool { return p.Stats().Waiting == 1 })
	})
	t.Cleanup(func() { pooling.SetParkHook(nil) })
	put(t, p, c, nil)
	if err := <-got; err != nil {
		t.Fatalf("the waiting Get: %v", err) // ErrTimeout: the connection was parked unseen
	}
	if st := p.Stats(); st.Gets != 2 || st.Puts != 2 || st.Waits != 1 || st.Dialled != 1 || st.Idle != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// Close while borrowed connections come back: each must be closed, none
// left in the lane, so Close returns without ErrStillBorrowed and the server
// sees every connection go.
func TestPoolLaneCloseRacingPut(t *testing.T) {
	srv := startEcho(t)
	for range 30 {
		p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithoutTestOnBorrow(),
			pooling.WithCloseDeadline(3*time.Second))
		const n = 4
		conns := make([]pooling.Conn[net.Conn], n)
		for i := range conns {
			conns[i] = get(t, p)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, c := range conns {
			wg.Go(func() {
				<-start
				if err := p.Put(c, nil); err != nil {
					t.Error(err)
				}
			})
		}
		var cerr error
		wg.Go(func() {
			<-start
			cerr = p.Close()
		})
		close(start)
		wg.Wait()
		if cerr != nil {
			t.Fatalf("Close = %v", cerr)
		}
		if st := p.Stats(); st.Open != 0 || st.Idle != 0 || st.InUse != 0 || st.Puts != n {
			t.Fatalf("stats after Close = %+v", st)
		}
		if _, err := p.Get(bg()); !errors.Is(err, pooling.ErrClosed) {
			t.Fatalf("Get after Close = %v, want ErrClosed", err)
		}
	}
	eventually(t, "no server connection", func() bool { return srv.Open() == 0 })
}

// Close that starts after a Put has looked at hold, but before it parks its
// connection, still closes that connection: the Put looks again.
func TestPoolLaneCloseBetweenPutsLookAndPark(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithoutTestOnBorrow(),
		pooling.WithCloseDeadline(2*time.Second))
	c := get(t, p)
	closed := make(chan error, 1)
	pooling.SetParkHook(func() {
		pooling.SetParkHook(nil)
		go func() { closed <- p.Close() }()
		eventually(t, "Close to start", func() bool { return p.Stats().Closed })
	})
	t.Cleanup(func() { pooling.SetParkHook(nil) })
	put(t, p, c, nil)
	if err := <-closed; err != nil {
		t.Fatalf("Close = %v", err) // ErrStillBorrowed: the connection was parked unseen
	}
	if st := p.Stats(); st.Open != 0 || st.Idle != 0 || st.Puts != 1 {
		t.Errorf("stats = %+v", st)
	}
	eventually(t, "no server connection", func() bool { return srv.Open() == 0 })
}

// Stats counts every Get and Put exactly while they run on several
// goroutines, some Puts fatal, some Gets waiting.
func TestPoolStatsExactUnderConcurrentUse(t *testing.T) {
	srv := startEcho(t)
	const max, workers, rounds = 3, 4, 300
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithMaxConns(max),
		pooling.WithoutTestOnBorrow())
	var fatals atomic.Uint64
	stop := make(chan struct{})
	watcher := make(chan error, 1)
	go func() {
		var last pooling.Stats
		for {
			select {
			case <-stop:
				watcher <- nil
				return
			default:
			}
			st := p.Stats()
			switch {
			case st.Gets < last.Gets || st.Puts < last.Puts:
				watcher <- errors.New("a count went down")
				return
			case st.Puts > st.Gets, st.InUse > max, st.Open > max:
				watcher <- errors.New("counts out of bounds")
				return
			}
			last = st
			time.Sleep(50 * time.Microsecond)
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				c, err := p.Get(bg())
				if err != nil {
					t.Error(err)
					return
				}
				var perr error
				if (w+i)%50 == 0 {
					perr = io.ErrUnexpectedEOF // fatal: closes it
					fatals.Add(1)
				}
				if err := p.Put(c, perr); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	if err := <-watcher; err != nil {
		t.Error(err)
	}
	st := p.Stats()
	const total = workers * rounds
	if st.Gets != total || st.Puts != total || st.InUse != 0 || st.Idle != st.Open ||
		st.ClosedFatal != fatals.Load() || st.Dialled != uint64(st.Open)+fatals.Load() {
		t.Errorf("stats = %+v, %d fatal", st, fatals.Load())
	}
}

// A connection parked in the lane by a Put is closed by the idle sweep once
// idle past the timeout, like one on the idle stack.
func TestPoolLaneSweepClosesIdleConnection(t *testing.T) {
	srv := startEcho(t)
	p := newPool(t, srv.addr, pooling.WithPrespawn(0), pooling.WithIdleTimeout(40*time.Millisecond))
	c := get(t, p)
	put(t, p, c, nil)
	eventually(t, "the parked connection to be swept", func() bool {
		st := p.Stats()
		return st.ClosedIdle == 1 && st.Open == 0 && st.Idle == 0
	})
	eventually(t, "no server connection", func() bool { return srv.Open() == 0 })
}
