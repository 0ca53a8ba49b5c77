package etcd

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/seed41aebe0c/lbkit/publisher"
)

// fakeKV is a scripted Client: Get answers come from get (loads) and probe
// (count-only reads); every Watch call is handed to the test on watches.
type fakeKV struct {
	mu    sync.Mutex
	get   func(ctx context.Context) (*clientv3.GetResponse, error)
	probe func(ctx context.Context) error
	// probeRev is the revision a successful probe reports (0: none).
	probeRev int64
	loads    int
	probes   int
	watches  chan *fakeWatch
	// blockWatch makes Watch block until its context ends, as clientv3's
	// does while the cluster is unreachable.
	blockWatch bool
}

func newFakeKV() *fakeKV {
	return &fakeKV{watches: make(chan *fakeWatch, 64)}
}

func (f *fakeKV) setGet(g func(ctx context.Context) (*clientv3.GetResponse, error)) {
	f.mu.Lock()
	f.get = g
	f.mu.Unlock()
}

func (f *fakeKV) setProbe(p func(ctx context.Context) error) {
	f.mu.Lock()
	f.probe = p
	f.mu.Unlock()
}

func (f *fakeKV) counts() (loads, probes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loads, f.probes
}

func (f *fakeKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	op := clientv3.OpGet(key, opts...)
	f.mu.Lock()
	if op.IsCountOnly() {
		f.probes++
		probe, rev := f.probe, f.probeRev
		f.mu.Unlock()
		if probe == nil {
			return &clientv3.GetResponse{Header: &pb.ResponseHeader{Revision: rev}}, nil
		}
		return &clientv3.GetResponse{Header: &pb.ResponseHeader{Revision: rev}}, probe(ctx)
	}
	f.loads++
	get := f.get
	f.mu.Unlock()
	if !op.IsOptsWithPrefix() {
		return nil, fmt.Errorf("load of %q without WithPrefix", key)
	}
	return get(ctx)
}

// fakeWatch is one Watch call. Send delivers a response; Close closes the
// channel as the client does when the watch ends.
type fakeWatch struct {
	rev    int64
	prefix bool
	in     chan clientv3.WatchResponse
	closed chan struct{}
	once   sync.Once
	ctx    context.Context
}

func (f *fakeKV) Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan {
	f.mu.Lock()
	block := f.blockWatch
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		ch := make(chan clientv3.WatchResponse)
		close(ch)
		return ch
	}
	op := clientv3.OpGet(key, opts...)
	w := &fakeWatch{rev: op.Rev(), prefix: op.IsOptsWithPrefix(), in: make(chan clientv3.WatchResponse), closed: make(chan struct{}), ctx: ctx}
	out := make(chan clientv3.WatchResponse)
	go func() {
		defer close(out)
		for {
			select {
			case r := <-w.in:
				select {
				case out <- r:
				case <-ctx.Done():
					return
				}
			case <-w.closed:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	f.watches <- w
	return out
}

func (w *fakeWatch) send(t *testing.T, r clientv3.WatchResponse) {
	t.Helper()
	select {
	case w.in <- r:
	case <-time.After(10 * time.Second):
		t.Fatal("watch response not taken within 10s")
	}
}

func (w *fakeWatch) close() { w.once.Do(func() { close(w.closed) }) }

func (f *fakeKV) nextWatch(t *testing.T) *fakeWatch {
	t.Helper()
	select {
	case w := <-f.watches:
		return w
	case <-time.After(10 * time.Second):
		t.Fatal("no watch within 10s")
		return nil
	}
}

func kv(key, value string) *mvccpb.KeyValue {
	return &mvccpb.KeyValue{Key: []byte(key), Value: []byte(value)}
}

// kvAt is a key last modified at revision mod.
func kvAt(key, value string, mod int64) *mvccpb.KeyValue {
	return &mvccpb.KeyValue{Key: []byte(key), Value: []byte(value), ModRevision: mod}
}

func getResp(rev int64, kvs ...*mvccpb.KeyValue) func(context.Context) (*clientv3.GetResponse, error) {
	return func(context.Context) (*clientv3.GetResponse, error) {
		return &clientv3.GetResponse{Header: &pb.ResponseHeader{Revision: rev}, Kvs: kvs}, nil
	}
}

func putEv(key, value string) *clientv3.Event {
	return &clientv3.Event{Type: mvccpb.PUT, Kv: kv(key, value)}
}

func delEv(key string) *clientv3.Event {
	return &clientv3.Event{Type: mvccpb.DELETE, Kv: &mvccpb.KeyValue{Key: []byte(key)}}
}

func watchResp(rev int64, evs ...*clientv3.Event) clientv3.WatchResponse {
	return clientv3.WatchResponse{Header: &pb.ResponseHeader{Revision: rev}, Events: evs}
}

// logRecorder is a go-kit logger that keeps every line.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Log(kv ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprint(kv...))
	return nil
}

func (l *logRecorder) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

func waitEvent(t *testing.T, sub *publisher.Subscription, ok func(publisher.Event) bool) publisher.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, open := <-sub.C():
			if !open {
				t.Fatal("subscription closed while waiting for an event")
			}
			if ok(ev) {
				return ev
			}
		case <-deadline:
			t.Fatal("no matching event within 10s")
		}
	}
}

func addrs(ev publisher.Event) string { return strings.Join(publisher.Addresses(ev.Instances), ",") }

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
