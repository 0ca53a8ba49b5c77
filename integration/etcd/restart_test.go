package etcd

import (
	"errors"
	"os"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/seed41aebe0c/lbkit/publisher"
	etcdpub "github.com/seed41aebe0c/lbkit/publisher/etcd"
)

// defaultClient is a client as a user makes it with no tuning: only the
// endpoint (and a silent logger). gRPC's own reconnect back-off applies.
func defaultClient(t *testing.T, endpoint string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatalf("etcd client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// restartWith stops the member, lets prepare change its data directory,
// and starts it again on the same ports.
func (s *server) restartWith(prepare func(dir string)) {
	s.t.Helper()
	s.stop()
	prepare(s.dir)
	s.start()
}

// emptyDir makes dir an empty directory: the member comes back as a new
// cluster with no keys, at revision 1.
func emptyDir(t *testing.T) func(dir string) {
	return func(dir string) {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshotOf copies the stopped member's data directory; restoreFrom puts
// such a copy back.
func (s *server) snapshot() string {
	s.t.Helper()
	s.stop()
	snap := s.t.TempDir()
	if err := os.CopyFS(snap, os.DirFS(s.dir)); err != nil {
		s.t.Fatal(err)
	}
	s.start()
	return snap
}

func restoreFrom(t *testing.T, snap string) func(dir string) {
	return func(dir string) {
		emptyDir(t)(dir)
		if err := os.CopyFS(dir, os.DirFS(snap)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRestartWithEmptyDataDir: etcd comes back on the same client URL with
// an empty data directory, so its revision starts again from 1. The
// publisher, with default settings over a client with default settings,
// must notice, read the prefix again, drop the instance that is gone, pick
// up the new one, and say in its Stats what happened.
func TestRestartWithEmptyDataDir(t *testing.T) {
	for name, writes := range map[string]int{
		// The new server's revision stays below the one the publisher saw.
		"revision below": 0,
		// Writes after the restart carry the new revision past the old
		// one before the publisher looks: a revision check alone misses it.
		"revision past": 60,
	} {
		t.Run(name, func(t *testing.T) {
			srv := startServer(t, nil)
			admin := srv.client(t, nil, "", "")
			cli := defaultClient(t, srv.endpoint())
			put := func(key, value string) {
				t.Helper()
				if _, err := admin.Put(ctx(t), prefix+key, value); err != nil {
					t.Fatal(err)
				}
			}
			for range 20 { // history: the revision climbs to about 23
				put("churn", "10.0.0.9:80")
			}
			if _, err := admin.Delete(ctx(t), prefix+"churn"); err != nil {
				t.Fatal(err)
			}
			put("a", "10.0.0.1:80")
			put("b", "10.0.0.2:80")
			pub, err := etcdpub.NewPublisher(cli, prefix)
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Stop()
			sub := pub.Subscribe()
			waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "10.0.0.1:80,10.0.0.2:80" })
			before := pub.Stats()

			srv.restartWith(emptyDir(t))
			start := time.Now()
			// After the restart: a is registered again, b is not (its
			// instance is gone), c is new.
			put("a", "10.0.0.1:80")
			put("c", "10.0.0.3:80")
			for range writes { // outside the prefix: only the revision moves
				if _, err := admin.Put(ctx(t), "/elsewhere/x", "y"); err != nil {
					t.Fatal(err)
				}
			}
			waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err == nil && addrs(ev) == "10.0.0.1:80,10.0.0.3:80" })
			t.Logf("new set seen %v after the restart", time.Since(start).Round(time.Millisecond))
			st := pub.Stats()
			if st.Gets <= before.Gets || st.Resets == 0 || !errors.Is(st.LastReset, etcdpub.ErrHistoryLost) {
				t.Errorf("stats %+v: want a fresh read, a reset counted and ErrHistoryLost in LastReset", st)
			}
			// And it watches on from the new server's history.
			put("d", "10.0.0.4:80")
			waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "10.0.0.1:80,10.0.0.3:80,10.0.0.4:80" })
		})
	}
}

// TestRestartFromOlderSnapshot: etcd comes back from an older copy of its
// data directory (a restored backup): the keys written since are gone, the
// ones deleted since are back, and the revision is lower. The publisher,
// with defaults, must publish what the server holds now.
func TestRestartFromOlderSnapshot(t *testing.T) {
	srv := startServer(t, nil)
	admin := srv.client(t, nil, "", "")
	put := func(key, value string) {
		t.Helper()
		if _, err := admin.Put(ctx(t), prefix+key, value); err != nil {
			t.Fatal(err)
		}
	}
	put("a", "10.0.0.1:80")
	put("b", "10.0.0.2:80")
	snap := srv.snapshot()
	cli := defaultClient(t, srv.endpoint())
	pub, err := etcdpub.NewPublisher(cli, prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	sub := pub.Subscribe()
	waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "10.0.0.1:80,10.0.0.2:80" })
	// Since the snapshot: b deregistered, c registered.
	if _, err := admin.Delete(ctx(t), prefix+"b"); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		put("c", "10.0.0.3:80")
	}
	waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "10.0.0.1:80,10.0.0.3:80" })

	srv.restartWith(restoreFrom(t, snap))
	start := time.Now()
	waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err == nil && addrs(ev) == "10.0.0.1:80,10.0.0.2:80" })
	t.Logf("restored set seen %v after the restart", time.Since(start).Round(time.Millisecond))
	if st := pub.Stats(); st.Resets == 0 || !errors.Is(st.LastReset, etcdpub.ErrHistoryLost) {
		t.Errorf("stats %+v: want a reset counted and ErrHistoryLost in LastReset", st)
	}
	put("d", "10.0.0.4:80")
	waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "10.0.0.1:80,10.0.0.2:80,10.0.0.4:80" })
}
