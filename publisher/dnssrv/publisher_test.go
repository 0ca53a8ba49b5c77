package dnssrv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/publisher"
)

// answer script for fakeResolver: what the next lookups return.
type reply struct {
	records []*net.SRV
	ttl     time.Duration
	err     error
	block   bool // wait for the context to end, as a hung server would
}

// fakeResolver answers from a settable reply and counts lookups. It
// implements TTLResolver; plainResolver hides that.
type fakeResolver struct {
	mu      sync.Mutex
	r       reply
	lookups int
	names   []string
}

func (f *fakeResolver) set(r reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.r = r
}

func (f *fakeResolver) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lookups
}

func (f *fakeResolver) LookupSRVTTL(ctx context.Context, service, proto, name string) ([]*net.SRV, time.Duration, error) {
	f.mu.Lock()
	f.lookups++
	f.names = append(f.names, service+"|"+proto+"|"+name)
	r := f.r
	f.mu.Unlock()
	if r.block {
		<-ctx.Done()
		return nil, 0, &net.DNSError{Err: ctx.Err().Error(), Name: name, IsTimeout: true, UnwrapErr: ctx.Err()}
	}
	return r.records, r.ttl, r.err
}

func (f *fakeResolver) LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error) {
	recs, _, err := f.LookupSRVTTL(ctx, service, proto, name)
	return name, recs, err
}

type plainResolver struct{ f *fakeResolver }

func (p plainResolver) LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error) {
	return p.f.LookupSRV(ctx, service, proto, name)
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

// waitEvent reads events until ok accepts one, failing after a generous
// deadline.
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

func TestNewRejectsBadArguments(t *testing.T) {
	f := &fakeResolver{}
	cases := []struct {
		name     string
		srv      string
		interval time.Duration
		opts     []Option
	}{
		{"empty name", "", time.Second, nil},
		{"zero interval", "_x._tcp.example.", 0, nil},
		{"negative interval", "_x._tcp.example.", -time.Second, nil},
		{"nil option", "_x._tcp.example.", time.Second, []Option{nil}},
		{"nil resolver", "_x._tcp.example.", time.Second, []Option{WithResolver(nil)}},
		{"typed nil resolver", "_x._tcp.example.", time.Second, []Option{WithResolver((*Client)(nil))}},
		{"nil logger", "_x._tcp.example.", time.Second, []Option{WithLogger(nil)}},
		{"zero timeout", "_x._tcp.example.", time.Second, []Option{WithLookupTimeout(0)}},
		{"zero TTL floor", "_x._tcp.example.", time.Second, []Option{WithResolver(f), WithTTL(0)}},
		{"TTL without TTLResolver", "_x._tcp.example.", time.Second, []Option{WithResolver(plainResolver{f}), WithTTL(time.Millisecond)}},
		{"TTL with default resolver", "_x._tcp.example.", time.Second, []Option{WithTTL(time.Millisecond)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := New(c.srv, c.interval, c.opts...)
			if !errors.Is(err, ErrInvalidArgument) || !errors.Is(err, publisher.ErrInvalidArgument) {
				t.Fatalf("New error = %v, want dnssrv.ErrInvalidArgument and publisher.ErrInvalidArgument", err)
			}
			if p != nil {
				t.Fatal("New returned a publisher with an error")
			}
		})
	}
	if f.count() != 0 {
		t.Fatal("a rejected publisher looked something up")
	}
}

func TestPublishesRecordsAndSkipsPortZero(t *testing.T) {
	f := &fakeResolver{}
	f.set(reply{records: []*net.SRV{
		{Target: "b.example.", Port: 80, Priority: 1, Weight: 10},
		{Target: "a.example.", Port: 0, Priority: 1, Weight: 10},
		{Target: "::1", Port: 81, Priority: 2, Weight: 3},
	}})
	logs := &logRecorder{}
	p, err := New("_http._tcp.example.", time.Hour, WithResolver(f), WithLogger(logs))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	sub := p.Subscribe()
	ev := waitEvent(t, sub, func(publisher.Event) bool { return true })
	if ev.Err != nil {
		t.Fatalf("event error %v", ev.Err)
	}
	want := []publisher.Instance{
		{Address: "[::1]:81", Weight: 3, Priority: 2},
		{Address: "b.example:80", Weight: 10, Priority: 1},
	}
	if len(ev.Instances) != 2 || !ev.Instances[0].Equal(want[0]) || !ev.Instances[1].Equal(want[1]) {
		t.Fatalf("instances %+v, want %+v", ev.Instances, want)
	}
	if !logs.contains("port 0") || !logs.contains("warn") {
		t.Errorf("no warning about the port-0 record in %v", logs.lines)
	}
	// The event says what was left out, and why.
	var ie *publisher.InvalidError
	if !errors.As(ev.Invalid, &ie) || ie.Dropped != 1 || !errors.Is(ev.Invalid, ErrBadRecord) || !strings.Contains(ev.Invalid.Error(), "port 0") {
		t.Errorf("event Invalid = %v, want the port-0 record described", ev.Invalid)
	}
	st := p.Stats()
	if st.Lookups != 1 || st.SkippedRecords != 1 || st.Instances != 2 || st.LastErr != nil || st.NextPoll != time.Hour {
		t.Errorf("stats %+v", st)
	}
	if f.names[0] != "||_http._tcp.example." {
		t.Errorf("looked up %q, want the full name with empty service and proto", f.names[0])
	}
}

func TestLookupErrorKeepsInstancesAndRecovers(t *testing.T) {
	f := &fakeResolver{}
	f.set(reply{records: []*net.SRV{{Target: "a.example.", Port: 1}}})
	p, err := New("_s._tcp.example.", 5*time.Millisecond, WithResolver(f))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	sub := p.Subscribe()
	waitEvent(t, sub, func(ev publisher.Event) bool { return addrs(ev) == "a.example:1" })

	dnsErr := &net.DNSError{Err: "server misbehaving", Name: "_s._tcp.example.", IsTemporary: true}
	f.set(reply{err: dnsErr})
	ev := waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err != nil })
	if addrs(ev) != "a.example:1" {
		t.Errorf("failing event carries %q, want the last known a.example:1", addrs(ev))
	}
	var got *net.DNSError
	if !errors.Is(ev.Err, ErrLookup) || !errors.As(ev.Err, &got) || !got.IsTemporary {
		t.Errorf("event error %v: want ErrLookup wrapping the *net.DNSError", ev.Err)
	}
	if st := p.Stats(); st.Failures == 0 || st.LastErr == nil {
		t.Errorf("stats after failure %+v", st)
	}

	f.set(reply{records: []*net.SRV{{Target: "b.example.", Port: 2}}})
	waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err == nil && addrs(ev) == "b.example:2" })
}

func TestLookupTimeout(t *testing.T) {
	f := &fakeResolver{}
	f.set(reply{block: true})
	p, err := New("_s._tcp.example.", time.Hour, WithResolver(f), WithLookupTimeout(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	ev := waitEvent(t, p.Subscribe(), func(ev publisher.Event) bool { return ev.Err != nil })
	var de *net.DNSError
	if !errors.Is(ev.Err, context.DeadlineExceeded) || !errors.As(ev.Err, &de) || !de.IsTimeout {
		t.Fatalf("error %v: want a timeout wrapping context.DeadlineExceeded", ev.Err)
	}
}

func TestStopCancelsLookupUnderWay(t *testing.T) {
	f := &fakeResolver{}
	f.set(reply{block: true})
	p, err := New("_s._tcp.example.", time.Hour, WithResolver(f), WithLookupTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	sub := p.Subscribe()
	deadline := time.Now().Add(10 * time.Second)
	for f.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	done := make(chan struct{})
	go func() { p.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return while a lookup was blocked")
	}
	if _, open := <-sub.C(); open {
		t.Fatal("subscription open after Stop (and Stop published the cancelled lookup)")
	}
	p.Stop() // idempotent
	if _, open := <-p.Subscribe().C(); open {
		t.Fatal("Subscribe after Stop returned an open subscription")
	}
}

func TestPartialAnswerIsUsed(t *testing.T) {
	f := &fakeResolver{}
	f.set(reply{
		records: []*net.SRV{{Target: "ok.example.", Port: 7}},
		err:     &net.DNSError{Err: "DNS response contained records which contain invalid names"},
	})
	logs := &logRecorder{}
	p, err := New("_s._tcp.example.", time.Hour, WithResolver(f), WithLogger(logs))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	ev := waitEvent(t, p.Subscribe(), func(publisher.Event) bool { return true })
	if ev.Err != nil || addrs(ev) != "ok.example:7" {
		t.Fatalf("event %+v, want ok.example:7 without error", ev)
	}
	if !logs.contains("invalid names") {
		t.Errorf("the resolver's complaint was not logged: %v", logs.lines)
	}
}

func TestOnlyMalformedRecordsKeepLastInstances(t *testing.T) {
	f := &fakeResolver{}
	f.set(reply{records: []*net.SRV{{Target: "a.example.", Port: 1}}})
	p, err := New("_s._tcp.example.", 5*time.Millisecond, WithResolver(f))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	sub := p.Subscribe()
	waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err == nil && len(ev.Instances) == 1 })
	f.set(reply{records: []*net.SRV{{Target: "a.example.", Port: 0}, {Target: "bad/name.", Port: 3}}})
	ev := waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err != nil })
	if !errors.Is(ev.Err, ErrNoUsableRecords) || !errors.Is(ev.Err, ErrBadRecord) || addrs(ev) != "a.example:1" {
		t.Fatalf("event %+v: want ErrNoUsableRecords and the last known instance", ev)
	}
}

func TestNotFound(t *testing.T) {
	notFound := &net.DNSError{Err: "no such host", IsNotFound: true}
	t.Run("default keeps last instances", func(t *testing.T) {
		f := &fakeResolver{}
		f.set(reply{records: []*net.SRV{{Target: "a.example.", Port: 1}}})
		p, err := New("_s._tcp.example.", 5*time.Millisecond, WithResolver(f))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Stop()
		sub := p.Subscribe()
		waitEvent(t, sub, func(ev publisher.Event) bool { return len(ev.Instances) == 1 })
		f.set(reply{err: notFound})
		ev := waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err != nil })
		if addrs(ev) != "a.example:1" {
			t.Fatalf("NXDOMAIN dropped the last instances: %+v", ev)
		}
	})
	t.Run("WithNotFoundAsEmpty empties", func(t *testing.T) {
		f := &fakeResolver{}
		f.set(reply{records: []*net.SRV{{Target: "a.example.", Port: 1}}})
		p, err := New("_s._tcp.example.", 5*time.Millisecond, WithResolver(f), WithNotFoundAsEmpty())
		if err != nil {
			t.Fatal(err)
		}
		defer p.Stop()
		sub := p.Subscribe()
		waitEvent(t, sub, func(ev publisher.Event) bool { return len(ev.Instances) == 1 })
		f.set(reply{err: notFound})
		waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err == nil && len(ev.Instances) == 0 })
		f.set(reply{err: errors.New("connection refused")})
		ev := waitEvent(t, sub, func(ev publisher.Event) bool { return ev.Err != nil })
		if errors.Is(ev.Err, notFound) {
			t.Fatal("a non-NXDOMAIN error was taken for NXDOMAIN")
		}
	})
}

func TestTTLDecidesNextPoll(t *testing.T) {
	cases := []struct {
		ttl, want time.Duration
	}{
		{0, 50 * time.Millisecond},         // floor
		{2 * time.Second, 2 * time.Second}, // the TTL itself
		{10 * time.Minute, time.Minute},    // capped by the interval
	}
	for _, c := range cases {
		f := &fakeResolver{}
		f.set(reply{records: []*net.SRV{{Target: "a.example.", Port: 1}}, ttl: c.ttl})
		p, err := New("_s._tcp.example.", time.Minute, WithResolver(f), WithTTL(50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		waitEvent(t, p.Subscribe(), func(publisher.Event) bool { return true })
		if got := p.Stats().NextPoll; got != c.want {
			t.Errorf("TTL %v: next poll in %v, want %v", c.ttl, got, c.want)
		}
		p.Stop()
	}
	// With a floor of 1ms and TTL 0, the publisher really polls again soon.
	f := &fakeResolver{}
	f.set(reply{records: []*net.SRV{{Target: "a.example.", Port: 1}}})
	p, err := New("_s._tcp.example.", time.Hour, WithResolver(f), WithTTL(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for f.count() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if f.count() < 3 {
		t.Fatalf("%d lookups: the TTL did not shorten the hour-long interval", f.count())
	}
}

func TestSlowSubscriberDoesNotBlockPolling(t *testing.T) {
	f := &fakeResolver{}
	f.set(reply{records: []*net.SRV{{Target: "a.example.", Port: 1}}})
	p, err := New("_s._tcp.example.", time.Millisecond, WithResolver(f))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	_ = p.Subscribe() // never read
	deadline := time.Now().Add(10 * time.Second)
	for f.count() < 20 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if f.count() < 20 {
		t.Fatalf("only %d lookups with an unread subscriber", f.count())
	}
}
