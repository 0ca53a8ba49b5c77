package etcd

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/seed41aebe0c/lbkit/publisher"
)

// fakeLease is a scripted RegistrarClient that holds keys and leases the
// way etcd does, closely enough for the registrar's logic.
type fakeLease struct {
	mu        sync.Mutex
	next      clientv3.LeaseID
	ttls      []int64
	store     map[string]string
	leaseOf   map[string]clientv3.LeaseID
	alive     map[clientv3.LeaseID]*fakeKeepAlive
	revoked   []clientv3.LeaseID
	grantErr  error
	putErr    error
	deleteErr error
	grantHang bool
	deletes   int
	kaStarted chan clientv3.LeaseID
}

type fakeKeepAlive struct {
	ch   chan *clientv3.LeaseKeepAliveResponse
	once sync.Once
}

func (k *fakeKeepAlive) close() { k.once.Do(func() { close(k.ch) }) }

func newFakeLease() *fakeLease {
	return &fakeLease{
		store:     map[string]string{},
		leaseOf:   map[string]clientv3.LeaseID{},
		alive:     map[clientv3.LeaseID]*fakeKeepAlive{},
		kaStarted: make(chan clientv3.LeaseID, 64),
	}
}

func (f *fakeLease) set(fn func(f *fakeLease)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeLease) Grant(ctx context.Context, ttl int64) (*clientv3.LeaseGrantResponse, error) {
	f.mu.Lock()
	hang, err := f.grantHang, f.grantErr
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	f.ttls = append(f.ttls, ttl)
	return &clientv3.LeaseGrantResponse{ID: f.next, TTL: ttl}, nil
}

func (f *fakeLease) Put(ctx context.Context, key, val string, opts ...clientv3.OpOption) (*clientv3.PutResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.putErr != nil {
		return nil, f.putErr
	}
	if len(opts) != 1 {
		return nil, errors.New("put without exactly one option (the lease)")
	}
	f.store[key] = val
	f.leaseOf[key] = f.next // the registrar puts under the lease it was just granted
	return &clientv3.PutResponse{}, nil
}

func (f *fakeLease) Delete(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.DeleteResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes++
	if f.deleteErr != nil {
		return nil, f.deleteErr
	}
	delete(f.store, key)
	return &clientv3.DeleteResponse{}, nil
}

func (f *fakeLease) Revoke(ctx context.Context, id clientv3.LeaseID) (*clientv3.LeaseRevokeResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, id)
	for k, l := range f.leaseOf {
		if l == id {
			delete(f.store, k)
			delete(f.leaseOf, k)
		}
	}
	if ka, ok := f.alive[id]; ok {
		ka.close()
		delete(f.alive, id)
		return &clientv3.LeaseRevokeResponse{}, nil
	}
	return nil, rpctypes.ErrLeaseNotFound
}

func (f *fakeLease) KeepAlive(ctx context.Context, id clientv3.LeaseID) (<-chan *clientv3.LeaseKeepAliveResponse, error) {
	ka := &fakeKeepAlive{ch: make(chan *clientv3.LeaseKeepAliveResponse, 1)}
	f.mu.Lock()
	f.alive[id] = ka
	f.mu.Unlock()
	context.AfterFunc(ctx, ka.close)
	f.kaStarted <- id
	return ka.ch, nil
}

// lose ends a lease's keep-alive stream, as the client does when the lease
// expired during an outage.
func (f *fakeLease) lose(id clientv3.LeaseID) {
	f.mu.Lock()
	ka := f.alive[id]
	delete(f.alive, id)
	for k, l := range f.leaseOf {
		if l == id {
			delete(f.store, k)
		}
	}
	f.mu.Unlock()
	if ka != nil {
		ka.close()
	}
}

func (f *fakeLease) value(key string) (string, clientv3.LeaseID, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.store[key]
	return v, f.leaseOf[key], ok
}

func (f *fakeLease) waitKeepAlive(t *testing.T) clientv3.LeaseID {
	t.Helper()
	select {
	case id := <-f.kaStarted:
		return id
	case <-time.After(10 * time.Second):
		t.Fatal("no keep-alive within 10s")
		return 0
	}
}

var inst = publisher.Instance{Address: "10.0.0.1:80", Weight: 2}

func TestNewRegistrarRejectsBadArguments(t *testing.T) {
	f := newFakeLease()
	cases := []struct {
		name string
		c    RegistrarClient
		key  string
		in   publisher.Instance
		opts []RegistrarOption
	}{
		{"nil client", nil, "/s/a", inst, nil},
		{"typed nil client", (*clientv3.Client)(nil), "/s/a", inst, nil},
		{"empty key", f, "", inst, nil},
		{"bad address", f, "/s/a", publisher.Instance{Address: "x"}, nil},
		{"negative weight", f, "/s/a", publisher.Instance{Address: "a:1", Weight: -1}, nil},
		{"nil option", f, "/s/a", inst, []RegistrarOption{nil}},
		{"short TTL", f, "/s/a", inst, []RegistrarOption{WithTTL(time.Millisecond)}},
		{"nil error handler", f, "/s/a", inst, []RegistrarOption{WithErrorHandler(nil)}},
		{"nil logger", f, "/s/a", inst, []RegistrarOption{WithLogger(nil)}},
		{"zero timeout", f, "/s/a", inst, []RegistrarOption{WithRequestTimeout(-time.Second)}},
		{"inverted back-off", f, "/s/a", inst, []RegistrarOption{WithBackoff(time.Second, 0)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewRegistrar(c.c, c.key, c.in, c.opts...)
			if !errors.Is(err, ErrInvalidArgument) || !errors.Is(err, publisher.ErrInvalidArgument) || r != nil {
				t.Fatalf("NewRegistrar = %v, %v; want etcd.ErrInvalidArgument and publisher.ErrInvalidArgument", r, err)
			}
		})
	}
}

func TestRegisterPutsUnderLeaseAndDrainsKeepAlive(t *testing.T) {
	f := newFakeLease()
	r, err := NewRegistrar(f, "/s/a", inst, WithTTL(1500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if err := r.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(context.Background()); err != nil {
		t.Fatalf("second Register: %v", err)
	}
	id := f.waitKeepAlive(t)
	v, lease, ok := f.value("/s/a")
	if !ok || lease != id || v != `{"address":"10.0.0.1:80","weight":2}` {
		t.Fatalf("stored %q under lease %d (ok %v), keep-alive on %d", v, lease, ok, id)
	}
	if f.ttls[0] != 2 || len(f.ttls) != 1 {
		t.Fatalf("granted TTLs %v: want one grant of 2s (1.5s rounded up)", f.ttls)
	}
	// Responses are drained: many more than the channel holds go through.
	f.mu.Lock()
	ka := f.alive[id]
	f.mu.Unlock()
	for range 100 {
		select {
		case ka.ch <- &clientv3.LeaseKeepAliveResponse{ID: id, TTL: 2}:
		case <-time.After(10 * time.Second):
			t.Fatal("keep-alive channel not drained")
		}
	}
	eventually(t, "keep-alives counted", func() bool { return r.Stats().KeepAlives >= 99 })
	if st := r.Stats(); !st.Registered || st.Lease != id || st.Registrations != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLostLeaseRegistersAgain(t *testing.T) {
	f := newFakeLease()
	var mu sync.Mutex
	var reported []error
	r, err := NewRegistrar(f, "/s/a", inst, WithBackoff(time.Millisecond, 5*time.Millisecond),
		WithErrorHandler(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if err := r.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := f.waitKeepAlive(t)

	// An outage: the lease is lost and etcd refuses grants for a while.
	down := errors.New("etcdserver: request timed out")
	f.set(func(f *fakeLease) { f.grantErr = down })
	f.lose(first)
	eventually(t, "failed re-registrations reported", func() bool { return r.Stats().Failures >= 2 })
	if _, _, ok := f.value("/s/a"); ok {
		t.Fatal("key present while its lease is lost")
	}
	f.set(func(f *fakeLease) { f.grantErr = nil })
	second := f.waitKeepAlive(t)
	if second == first {
		t.Fatal("kept alive the lost lease instead of a new one")
	}
	if v, lease, ok := f.value("/s/a"); !ok || lease != second || v != `{"address":"10.0.0.1:80","weight":2}` {
		t.Fatalf("after recovery: %q under %d (ok %v), want under %d", v, lease, ok, second)
	}
	eventually(t, "old lease revoked", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, id := range f.revoked {
			if id == first {
				return true
			}
		}
		return false
	})
	mu.Lock()
	defer mu.Unlock()
	if len(reported) < 3 || !errors.Is(reported[0], ErrLeaseLost) || !errors.Is(reported[1], down) {
		t.Fatalf("reported %v: want ErrLeaseLost, then the grant errors", reported)
	}
	if st := r.Stats(); st.Registrations != 2 || st.LeasesLost != 1 || st.LastErr != nil {
		t.Fatalf("stats %+v", st)
	}
}

func TestRegisterErrors(t *testing.T) {
	t.Run("grant fails", func(t *testing.T) {
		f := newFakeLease()
		boom := errors.New("boom")
		f.grantErr = boom
		r, _ := NewRegistrar(f, "/s/a", inst)
		if err := r.Register(context.Background()); !errors.Is(err, boom) {
			t.Fatalf("Register = %v", err)
		}
		if r.Stats().Registered {
			t.Fatal("registered after a failed Register")
		}
		f.set(func(f *fakeLease) { f.grantErr = nil })
		if err := r.Register(context.Background()); err != nil {
			t.Fatalf("Register after the failure: %v", err)
		}
		r.Stop()
	})
	t.Run("put fails and the lease is revoked", func(t *testing.T) {
		f := newFakeLease()
		boom := errors.New("boom")
		f.putErr = boom
		r, _ := NewRegistrar(f, "/s/a", inst)
		if err := r.Register(context.Background()); !errors.Is(err, boom) {
			t.Fatalf("Register = %v", err)
		}
		if len(f.revoked) != 1 || f.revoked[0] != 1 {
			t.Fatalf("revoked %v, want the lease granted for the failed put", f.revoked)
		}
		r.Stop()
	})
	t.Run("timeout", func(t *testing.T) {
		f := newFakeLease()
		f.grantHang = true
		r, _ := NewRegistrar(f, "/s/a", inst)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		if err := r.Register(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Register = %v", err)
		}
		r.Stop()
	})
}

func TestDeregisterAndStop(t *testing.T) {
	f := newFakeLease()
	var mu sync.Mutex
	var errs []error
	reported := func() []error { mu.Lock(); defer mu.Unlock(); return slices.Clone(errs) }
	r, err := NewRegistrar(f, "/s/a", inst, WithErrorHandler(func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Deregister(context.Background()); err != nil {
		t.Fatalf("Deregister before Register: %v", err)
	}
	if err := r.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	id := f.waitKeepAlive(t)
	if err := r.Deregister(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := f.value("/s/a"); ok || len(f.revoked) != 1 || f.revoked[0] != id {
		t.Fatalf("after Deregister: key present %v, revoked %v", ok, f.revoked)
	}
	if err := r.Deregister(context.Background()); err != nil {
		t.Fatalf("second Deregister: %v", err)
	}
	// Registering again works, and a failing delete on Stop goes to the
	// error handler and Stats.
	if err := r.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.waitKeepAlive(t)
	boom := errors.New("boom")
	f.set(func(f *fakeLease) { f.deleteErr = boom })
	r.Stop()
	if got := reported(); len(got) != 1 || !errors.Is(got[0], boom) {
		t.Fatalf("Stop reported %v, want the delete error once", got)
	}
	if st := r.Stats(); !errors.Is(st.LastErr, boom) {
		t.Fatalf("Stats.LastErr = %v, want the delete error", st.LastErr)
	}
	r.Stop() // idempotent: nothing more is deleted or reported
	if got := reported(); len(got) != 1 {
		t.Fatalf("second Stop reported %v", got)
	}
	if err := r.Register(context.Background()); !errors.Is(err, ErrStopped) {
		t.Fatalf("Register after Stop = %v", err)
	}
	if st := r.Stats(); st.Registered {
		t.Fatal("registered after Stop")
	}
}
