package etcd

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/seed41aebe0c/lbkit/publisher"
)

// fast keeps the fake-driven tests quick: short back-off, and a probe that
// only runs when a test asks for it.
var fast = []Option{WithBackoff(time.Millisecond, 5*time.Millisecond), WithHealthInterval(time.Hour)}

func TestNewPublisherRejectsBadArguments(t *testing.T) {
	f := newFakeKV()
	cases := []struct {
		name   string
		c      Client
		prefix string
		opts   []Option
	}{
		{"nil client", nil, "/s/", nil},
		{"typed nil client", (*clientv3.Client)(nil), "/s/", nil},
		{"empty prefix", f, "", nil},
		{"nil option", f, "/s/", []Option{nil}},
		{"nil logger", f, "/s/", []Option{WithLogger(nil)}},
		{"zero timeout", f, "/s/", []Option{WithRequestTimeout(0)}},
		{"zero probe interval", f, "/s/", []Option{WithHealthInterval(0)}},
		{"inverted back-off", f, "/s/", []Option{WithBackoff(time.Second, time.Millisecond)}},
		{"zero back-off", f, "/s/", []Option{WithBackoff(0, time.Second)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := NewPublisher(c.c, c.prefix, c.opts...)
			if !errors.Is(err, ErrInvalidArgument) || !errors.Is(err, publisher.ErrInvalidArgument) || p != nil {
				t.Fatalf("NewPublisher = %v, %v; want etcd.ErrInvalidArgument and publisher.ErrInvalidArgument", p, err)
			}
		})
	}
}

func TestGetThenWatchAppliesChangesWithoutRereading(t *testing.T) {
	f := newFakeKV()
	f.setGet(getResp(10,
		kv("/s/a", "10.0.0.1:80"),
		kv("/s/b", `{"address":"10.0.0.2:80","weight":5,"priority":1,"metadata":{"zone":"x"}}`),
		kv("/s/bad", "not an address"),
		kv("/s/dup", "10.0.0.1:80"),
	))
	logs := &logRecorder{}
	p, err := NewPublisher(f, "/s/", append(fast, WithLogger(logs))...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	sub := p.Subscribe()
	ev := waitEvent(t, sub, func(publisher.Event) bool { return true })
	if ev.Err != nil || addrs(ev) != "10.0.0.1:80,10.0.0.2:80" {
		t.Fatalf("first event %+v", ev)
	}
	if b := ev.Instances[1]; b.Weight != 5 || b.Priority != 1 || b.Metadata["zone"] != "x" {
		t.Errorf("JSON value decoded as %+v", b)
	}
	if !logs.contains("/s/bad") || !logs.contains("warn") {
		t.Errorf("malformed value not logged as a warning: %v", logs.lines)
	}

	w := f.nextWatch(t)
	if w.rev != 11 || !w.prefix {
		t.Fatalf("watch from revision %d (prefix %v), want 11 with prefix", w.rev, w.prefix)
	}
	w.send(t, watchResp(12, putEv("/s/c", "10.0.0.3:80"), delEv("/s/a")))
	// /s/a is gone but /s/dup holds the same address: it stays.
	waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80" })
	w.send(t, watchResp(13, delEv("/s/dup"), putEv("/s/b", "oops")))
	ev = waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "10.0.0.3:80" })
	if ev.Err != nil {
		t.Fatalf("event error %v", ev.Err)
	}
	st := p.Stats()
	if loads, _ := f.counts(); loads != 1 || st.Gets != 1 || st.Events != 4 || st.Revision != 13 || st.Malformed != 2 || st.Instances != 1 {
		t.Fatalf("loads %d, stats %+v: want one Get, 4 events, revision 13, 2 malformed", loads, st)
	}
}

func TestFailedGetIsPublishedAndRetried(t *testing.T) {
	f := newFakeKV()
	down := errors.New("connection refused")
	f.setGet(func(context.Context) (*clientv3.GetResponse, error) { return nil, down })
	p, err := NewPublisher(f, "/s/", fast...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	sub := p.Subscribe()
	ev := waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err != nil })
	if !errors.Is(ev.Err, ErrUnavailable) || !errors.Is(ev.Err, down) {
		t.Fatalf("error %v: want ErrUnavailable wrapping the client's error", ev.Err)
	}
	eventually(t, "retries", func() bool { l, _ := f.counts(); return l >= 3 })
	f.setGet(getResp(3, kv("/s/a", "a:1")))
	waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err == nil && addrs(ev) == "a:1" })
	if w := f.nextWatch(t); w.rev != 4 {
		t.Fatalf("watch from %d, want 4", w.rev)
	}
	if st := p.Stats(); st.Failures < 3 || st.LastErr != nil {
		t.Fatalf("stats %+v", st)
	}
}

func TestGetTimeout(t *testing.T) {
	f := newFakeKV()
	f.setGet(func(ctx context.Context) (*clientv3.GetResponse, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	p, err := NewPublisher(f, "/s/", append(fast, WithRequestTimeout(10*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	ev := waitEvent(t, p.Subscribe(), func(ev publisher.Event) bool { return ev.Err != nil })
	if !errors.Is(ev.Err, context.DeadlineExceeded) {
		t.Fatalf("error %v: want context.DeadlineExceeded", ev.Err)
	}
}

func TestClosedWatchResumesFromLastRevision(t *testing.T) {
	f := newFakeKV()
	f.setGet(getResp(5, kv("/s/a", "a:1")))
	p, err := NewPublisher(f, "/s/", fast...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	sub := p.Subscribe()
	w := f.nextWatch(t)
	w.send(t, watchResp(9, putEv("/s/b", "b:1")))
	waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "a:1,b:1" })
	w.close()
	w2 := f.nextWatch(t)
	if w2.rev != 10 {
		t.Fatalf("re-watch from %d, want 10", w2.rev)
	}
	w2.send(t, watchResp(10, delEv("/s/a")))
	waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err == nil && addrs(ev) == "b:1" })
	if loads, _ := f.counts(); loads != 1 {
		t.Fatalf("%d full reads, want 1: a closed watch must not re-read", loads)
	}
	if w.ctx.Err() == nil {
		t.Error("the ended watch's context was not cancelled")
	}
}

func TestCompactionRereadsPrefix(t *testing.T) {
	f := newFakeKV()
	f.setGet(getResp(5, kv("/s/a", "a:1")))
	logs := &logRecorder{}
	p, err := NewPublisher(f, "/s/", append(fast, WithLogger(logs))...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	sub := p.Subscribe()
	w := f.nextWatch(t)
	waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "a:1" })
	f.setGet(getResp(50, kv("/s/z", "z:1")))
	w.send(t, clientv3.WatchResponse{CompactRevision: 20, Canceled: true})
	waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err == nil && addrs(ev) == "z:1" })
	if w2 := f.nextWatch(t); w2.rev != 51 {
		t.Fatalf("watch after compaction from %d, want 51", w2.rev)
	}
	if st := p.Stats(); st.Compactions != 1 || st.Gets != 2 {
		t.Fatalf("stats %+v: want one compaction, two reads", st)
	}
	if !logs.contains("compacted") {
		t.Errorf("compaction not logged: %v", logs.lines)
	}
}

func TestCancelledWatchKeepsInstances(t *testing.T) {
	f := newFakeKV()
	f.setGet(getResp(5, kv("/s/a", "a:1")))
	p, err := NewPublisher(f, "/s/", fast...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	sub := p.Subscribe()
	w := f.nextWatch(t)
	waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "a:1" })
	w.send(t, clientv3.WatchResponse{Canceled: true, CancelReason: rpctypes.ErrNoLeader.Error()})
	ev := waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err != nil })
	if addrs(ev) != "a:1" || !errors.Is(ev.Err, ErrUnavailable) {
		t.Fatalf("event %+v: want the last instances with ErrUnavailable", ev)
	}
	w2 := f.nextWatch(t)
	if w2.rev != 6 {
		t.Fatalf("re-watch from %d, want 6", w2.rev)
	}
	w2.send(t, watchResp(7, putEv("/s/b", "b:1")))
	waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err == nil && addrs(ev) == "a:1,b:1" })
}

func TestHealthProbeReportsOutageAndRecovers(t *testing.T) {
	f := newFakeKV()
	f.setGet(getResp(5, kv("/s/a", "a:1")))
	p, err := NewPublisher(f, "/s/", WithBackoff(time.Millisecond, 5*time.Millisecond), WithHealthInterval(2*time.Millisecond), WithRequestTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	sub := p.Subscribe()
	w := f.nextWatch(t)
	waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "a:1" })
	// A watch on an unreachable cluster is silent; only the probe tells.
	f.setProbe(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	ev := waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err != nil })
	if addrs(ev) != "a:1" || !errors.Is(ev.Err, ErrUnavailable) || !errors.Is(ev.Err, context.DeadlineExceeded) {
		t.Fatalf("outage event %+v", ev)
	}
	f.setProbe(nil)
	waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err == nil && addrs(ev) == "a:1" })
	w2 := f.nextWatch(t)
	if w2.rev != 6 {
		t.Fatalf("watch after recovery from %d, want 6", w2.rev)
	}
	eventually(t, "old watch cancelled", func() bool { return w.ctx.Err() != nil })
	w2.send(t, watchResp(8, putEv("/s/b", "b:1")))
	waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "a:1,b:1" })
	// One read after the outage: the server that answers may not have
	// kept its history (see TestRevisionBackwardsRereads).
	if loads, _ := f.counts(); loads != 2 {
		t.Fatalf("%d full reads, want 2", loads)
	}
	if st := p.Stats(); st.Resets != 0 {
		t.Fatalf("stats %+v: the same history is no reset", st)
	}
}

// clientv3's Watch does not return while the cluster is unreachable: the
// probe must go on meanwhile, and Stop must end the blocked call.
func TestProbeRunsWhileWatchCallBlocks(t *testing.T) {
	f := newFakeKV()
	f.setGet(getResp(5, kv("/s/a", "a:1")))
	f.blockWatch = true
	f.setProbe(func(context.Context) error { return errors.New("connection refused") })
	p, err := NewPublisher(f, "/s/", WithBackoff(time.Millisecond, 5*time.Millisecond), WithHealthInterval(2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	sub := p.Subscribe()
	ev := waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err != nil })
	if addrs(ev) != "a:1" || !errors.Is(ev.Err, ErrUnavailable) {
		t.Fatalf("event %+v", ev)
	}
	stopped := make(chan struct{})
	go func() { p.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop blocked behind a Watch call")
	}
}

func TestStopWhileGetBlocks(t *testing.T) {
	f := newFakeKV()
	started := make(chan struct{})
	f.setGet(func(ctx context.Context) (*clientv3.GetResponse, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	p, err := NewPublisher(f, "/s/", append(fast, WithRequestTimeout(time.Hour))...)
	if err != nil {
		t.Fatal(err)
	}
	sub := p.Subscribe()
	<-started
	stopped := make(chan struct{})
	go func() { p.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop blocked behind a Get")
	}
	if _, open := <-sub.C(); open {
		t.Fatal("event after Stop: the cancelled Get was published")
	}
	p.Stop() // idempotent
	if _, open := <-p.Subscribe().C(); open {
		t.Fatal("Subscribe after Stop is open")
	}
}

func TestStopEndsWatch(t *testing.T) {
	f := newFakeKV()
	f.setGet(getResp(1))
	p, err := NewPublisher(f, "/s/", fast...)
	if err != nil {
		t.Fatal(err)
	}
	w := f.nextWatch(t)
	p.Stop()
	if w.ctx.Err() == nil {
		t.Fatal("watch context alive after Stop")
	}
}

// TestRevisionBackwardsRereads: a probe that finds the server at a lower
// revision than the publisher has seen (etcd restarted with an older or
// empty data directory, which clientv3 resumes its watch on without a
// word) makes the publisher read the prefix again, publish what the
// server holds now, and say so in Stats.
func TestRevisionBackwardsRereads(t *testing.T) {
	f := newFakeKV()
	f.setGet(getResp(20, kvAt("/s/a", "a:1", 10), kvAt("/s/b", "b:1", 12)))
	p, err := NewPublisher(f, "/s/", WithBackoff(time.Millisecond, 5*time.Millisecond), WithHealthInterval(2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	sub := p.Subscribe()
	waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "a:1,b:1" })
	f.mu.Lock()
	f.probeRev = 20
	f.mu.Unlock()
	// The server lost its data: b is gone, c is new, the revision is 3.
	f.setGet(getResp(3, kvAt("/s/a", "a:1", 2), kvAt("/s/c", "c:1", 3)))
	f.mu.Lock()
	f.probeRev = 3
	f.mu.Unlock()
	waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err == nil && addrs(ev) == "a:1,c:1" })
	st := p.Stats()
	if st.Resets != 1 || !errors.Is(st.LastReset, ErrHistoryLost) || st.Revision != 3 || st.LastErr != nil {
		t.Fatalf("stats %+v: want one reset, ErrHistoryLost, revision 3", st)
	}
	w := f.nextWatch(t)
	for w.rev != 4 {
		w = f.nextWatch(t)
	}
}

// TestUnknownKeyAfterRecoveryIsAReset: after an outage the server's
// revision has moved past the publisher's, but a key carries a revision
// the watch never saw: a different history (an empty data directory
// written to since), found by the read after recovery.
func TestUnknownKeyAfterRecoveryIsAReset(t *testing.T) {
	for name, c := range map[string]struct {
		after  func(context.Context) (*clientv3.GetResponse, error)
		want   string
		resets uint64
	}{
		"other history": {getResp(40, kvAt("/s/a", "a:1", 2), kvAt("/s/c", "c:1", 3)), "a:1,c:1", 1},
		"same history":  {getResp(40, kvAt("/s/a", "a:1", 10), kvAt("/s/c", "c:1", 30)), "a:1,c:1", 0},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeKV()
			f.setGet(getResp(20, kvAt("/s/a", "a:1", 10), kvAt("/s/b", "b:1", 12)))
			p, err := NewPublisher(f, "/s/", WithBackoff(time.Millisecond, 5*time.Millisecond), WithHealthInterval(2*time.Millisecond), WithRequestTimeout(50*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Stop()
			sub := p.Subscribe()
			waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "a:1,b:1" })
			f.setProbe(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
			waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err != nil })
			f.setGet(c.after)
			f.setProbe(nil)
			waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err == nil && addrs(ev) == c.want })
			if st := p.Stats(); st.Resets != c.resets || (c.resets > 0) != errors.Is(st.LastReset, ErrHistoryLost) {
				t.Fatalf("stats %+v, want %d resets", st, c.resets)
			}
		})
	}
}

// TestDuplicateAndMalformedValuesAreReported: two keys with one address
// and a value that does not decode are left out, counted, logged, and
// described in the event.
func TestDuplicateAndMalformedValuesAreReported(t *testing.T) {
	f := newFakeKV()
	f.setGet(getResp(5, kv("/s/a", "a:1"), kv("/s/b", `{"address":"a:1","weight":5}`), kv("/s/c", "c:1"), kv("/s/d", "nonsense")))
	logs := &logRecorder{}
	p, err := NewPublisher(f, "/s/", append(fast, WithLogger(logs))...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	ev := waitEvent(t, p.Subscribe(), func(publisher.Event) bool { return true })
	if addrs(ev) != "a:1,c:1" || ev.Instances[0].Weight != 0 {
		t.Fatalf("instances %+v, want a:1 from the first key, and c:1", ev.Instances)
	}
	var ie *publisher.InvalidError
	if !errors.As(ev.Invalid, &ie) || ie.Dropped != 2 || !errors.Is(ev.Invalid, ErrBadValue) || !errors.Is(ev.Invalid, publisher.ErrInvalidArgument) {
		t.Fatalf("Invalid = %v, want the malformed value and the duplicate", ev.Invalid)
	}
	if st := p.Stats(); st.Malformed != 1 || st.Invalid != 1 {
		t.Fatalf("stats %+v, want one malformed value and one invalid instance", st)
	}
	if !logs.contains("duplicate address a:1") || !logs.contains("nonsense") {
		t.Fatalf("log %v, want the duplicate and the malformed value", logs.lines)
	}
}
