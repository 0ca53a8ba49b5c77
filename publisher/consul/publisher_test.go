package consul_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/hashicorp/consul/api"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/consul"
)

func TestNewRejectsBadArguments(t *testing.T) {
	h := newFakeHealth()
	invalid := func(err error) bool {
		return errors.Is(err, consul.ErrInvalidArgument) && errors.Is(err, publisher.ErrInvalidArgument)
	}
	for name, call := range map[string]func() error{
		"nil client":       func() error { _, err := consul.New(nil, "web"); return err },
		"nil config":       func() error { _, err := consul.NewFromConfig(nil, "web"); return err },
		"bad config":       func() error { _, err := consul.NewFromConfig(badConfig(), "web"); return err },
		"nil health":       func() error { _, err := consul.NewWithHealth(nil, "web"); return err },
		"typed nil health": func() error { _, err := consul.NewWithHealth((*api.Health)(nil), "web"); return err },
		"empty service":    func() error { _, err := consul.NewWithHealth(h, ""); return err },
	} {
		if err := call(); !invalid(err) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
	for name, o := range map[string]consul.Option{
		"nil option":        nil,
		"empty tag":         consul.WithTags("a", ""),
		"wait 0":            consul.WithWaitTime(0),
		"wait 11m":          consul.WithWaitTime(11 * time.Minute),
		"backoff min 0":     consul.WithBackoff(0, time.Second),
		"backoff max < min": consul.WithBackoff(time.Second, time.Millisecond),
		"rate every < 0":    consul.WithRateLimit(-time.Second, 1),
		"rate burst 0":      consul.WithRateLimit(time.Second, 0),
		"grace < 0":         consul.WithRecoveryGrace(-time.Second),
		"nil logger":        consul.WithLogger(nil),
	} {
		if _, err := consul.NewWithHealth(h, "web", o); !invalid(err) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
	if n := len(h.Calls()); n != 0 {
		t.Fatalf("rejected constructors queried Consul %d times", n)
	}
}

func TestPublishesInstancesAndSendsFiltersToServer(t *testing.T) {
	e6 := entry("web-3", "2001:db8::7", 9090, api.HealthPassing)
	e6.Service.Weights.Passing = 5
	e6.Service.Meta = map[string]string{"version": "2"}
	e6.Service.Namespace, e6.Service.Partition = "team-a", "part-1"
	h := newFakeHealth(step{index: 7, entries: []*api.ServiceEntry{
		entry("web-1", "10.0.0.5", 8080, api.HealthPassing),
		entry("web-2", "", 8081, api.HealthPassing), // node address
		e6,
	}})
	p, err := consul.NewWithHealth(h, "web",
		consul.WithTags("v1", "blue"), consul.WithTags("canary"),
		consul.WithFilter(`Service.Meta.version != "0"`),
		consul.WithDatacenter("dc2"), consul.WithNamespace("team-a"), consul.WithPartition("part-1"),
		consul.WithAllowStale(), consul.WithWaitTime(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	s := p.Subscribe()
	ev := next(t, s)
	if ev.Err != nil {
		t.Fatal(ev.Err)
	}
	want := []string{"10.0.0.1:8081", "10.0.0.5:8080", "[2001:db8::7]:9090"}
	if got := publisher.Addresses(ev.Instances); !slices.Equal(got, want) {
		t.Fatalf("addresses %v, want %v", got, want)
	}
	v6 := ev.Instances[2]
	if v6.Weight != 5 || v6.Metadata["version"] != "2" || v6.Metadata[consul.MetaServiceID] != "web-3" ||
		v6.Metadata[consul.MetaNode] != "node-1" || v6.Metadata[consul.MetaDatacenter] != "dc1" ||
		v6.Metadata[consul.MetaTags] != "v1,blue" || v6.Metadata[consul.MetaHealth] != api.HealthPassing ||
		v6.Metadata[consul.MetaNamespace] != "team-a" || v6.Metadata[consul.MetaPartition] != "part-1" {
		t.Fatalf("IPv6 instance %+v", v6)
	}

	cs := h.waitCalls(t, 2)
	first, second := cs[0], cs[1]
	if first.service != "web" || !slices.Equal(first.tags, []string{"v1", "blue", "canary"}) || !first.passing {
		t.Fatalf("query service=%q tags=%v passing=%v", first.service, first.tags, first.passing)
	}
	q := first.q
	if q.Datacenter != "dc2" || q.Namespace != "team-a" || q.Partition != "part-1" ||
		q.Filter != `Service.Meta.version != "0"` || !q.AllowStale || q.WaitTime != 30*time.Second {
		t.Fatalf("query options %+v", q)
	}
	if q.WaitIndex != 0 || second.q.WaitIndex != 7 {
		t.Fatalf("wait indexes %d then %d, want 0 then 7", q.WaitIndex, second.q.WaitIndex)
	}
	// The deadline bounds a blocking query that a dead connection would
	// otherwise hold forever: wait + wait/16 + grace.
	limit := 30*time.Second + 30*time.Second/16 + consul.QueryTimeoutGrace
	if left := time.Until(second.deadline); left <= 0 || left > limit {
		t.Fatalf("query deadline in %v, want within %v", left, limit)
	}
}

func TestIndexRules(t *testing.T) {
	es := []*api.ServiceEntry{entry("a", "10.0.0.1", 80, api.HealthPassing)}
	h := newFakeHealth(
		step{index: 10, entries: es},
		step{index: 12, entries: es}, // no change: same set, newer index
		step{index: 5, entries: es},  // backwards: start again from 0
		step{index: 0, entries: es},  // zero: wait on 1 so the query blocks
		step{index: 20, entries: es},
	)
	p, err := consul.NewWithHealth(h, "web", consul.WithRateLimit(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	cs := h.waitCalls(t, 6)
	var got []uint64
	for _, c := range cs[:6] {
		got = append(got, c.q.WaitIndex)
	}
	if want := []uint64{0, 10, 12, 0, 1, 20}; !slices.Equal(got, want) {
		t.Fatalf("wait indexes %v, want %v", got, want)
	}
	st := p.Stats()
	if st.IndexResets != 2 || st.Index != 20 || st.Updates != 1 || st.Queries != 5 {
		t.Fatalf("stats %+v", st)
	}
}

func TestUnchangedResultsAreNotRepublished(t *testing.T) {
	es := []*api.ServiceEntry{entry("a", "10.0.0.1", 80, api.HealthPassing), entry("b", "10.0.0.2", 80, api.HealthPassing)}
	rev := []*api.ServiceEntry{es[1], es[0]} // same set, other order
	h := newFakeHealth(step{index: 1, entries: es}, step{index: 2, entries: rev}, step{index: 3, entries: es[:1]})
	h.gate = make(chan struct{})
	p, err := consul.NewWithHealth(h, "web", consul.WithRateLimit(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	s := p.Subscribe()
	h.gate <- struct{}{}
	if ev := next(t, s); len(ev.Instances) != 2 {
		t.Fatalf("first %+v", ev)
	}
	h.gate <- struct{}{}
	h.gate <- struct{}{}
	if ev := next(t, s); len(ev.Instances) != 1 {
		t.Fatalf("second event %+v, want the one-instance set (the reordered set is no change)", ev)
	}
	h.waitCalls(t, 4)
	noEvent(t, s)
	if st := p.Stats(); st.Updates != 2 {
		t.Fatalf("updates %d, want 2", st.Updates)
	}
}

func TestUnreachableBacksOffExponentiallyWithoutHotLoop(t *testing.T) {
	down := errors.New("dial tcp 127.0.0.1:8500: connect: connection refused")
	h := newFakeHealth(step{err: down})
	h.forever = true
	clk := newFakeClock(10 * time.Minute)
	p, err := consul.NewWithHealth(h, "web",
		consul.WithClock(clk.Now, clk.Sleep), consul.WithRand(func() float64 { return 0.999 }),
		consul.WithBackoff(100*time.Millisecond, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Subscribe()
	ev := next(t, s)
	if !errors.Is(ev.Err, consul.ErrQuery) || !errors.Is(ev.Err, down) {
		t.Fatalf("event error %v, want ErrQuery wrapping the client's error", ev.Err)
	}
	clk.waitParked(t)
	p.Stop()

	calls := len(h.Calls())
	// Ten simulated minutes with delays doubling from ~100ms to a 10s cap:
	// about 7 quick retries, then one per 5-10s. A hot loop would make
	// millions.
	if calls < 60 || calls > 130 {
		t.Fatalf("%d queries in 10 simulated minutes, want 60..130", calls)
	}
	var backoffs []time.Duration
	for _, d := range clk.Sleeps() {
		if d > 0 {
			backoffs = append(backoffs, d)
		}
	}
	for n, d := range backoffs {
		ceil := min(100*time.Millisecond<<n, 10*time.Second)
		if n >= 20 {
			ceil = 10 * time.Second
		}
		if d < ceil/2 || d > ceil {
			t.Fatalf("back-off %d = %v, want in [%v, %v]", n+1, d, ceil/2, ceil)
		}
	}
	st := p.Stats()
	if st.Failures != uint64(calls) || st.ConsecutiveFailures != calls || !errors.Is(st.LastError, down) {
		t.Fatalf("stats %+v after %d failing calls", st, calls)
	}
	for _, c := range h.Calls() {
		if c.q.WaitIndex != 0 {
			t.Fatalf("query after failure waited on index %d, want 0", c.q.WaitIndex)
		}
	}
}

func TestUnreachableBoundedInRealTime(t *testing.T) {
	h := newFakeHealth(step{err: errors.New("connection refused")})
	h.forever = true
	p, err := consul.NewWithHealth(h, "web", consul.WithBackoff(5*time.Millisecond, 40*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	h.waitCalls(t, 3)
	time.Sleep(400 * time.Millisecond) // an observation window, not a synchronisation
	p.Stop()
	// Every retry waits at least min/2 and the cap is reached after four
	// retries, so however fast the machine, 400ms (plus the polling
	// before it) holds no more than a few dozen queries.
	if n := len(h.Calls()); n > 60 {
		t.Fatalf("%d queries while unreachable: back-off is not holding the loop", n)
	}
}

func TestOutageKeepsLastSetAndRecovers(t *testing.T) {
	down := errors.New("connection refused")
	h := newFakeHealth(
		step{index: 40, entries: []*api.ServiceEntry{entry("a", "10.0.0.1", 80, api.HealthPassing)}},
		step{err: down}, step{err: down}, step{err: down},
		// A restarted agent counts its index from scratch.
		step{index: 3, entries: []*api.ServiceEntry{
			entry("a", "10.0.0.1", 80, api.HealthPassing), entry("b", "10.0.0.2", 80, api.HealthPassing),
		}},
	)
	h.gate = make(chan struct{})
	clk := newFakeClock(time.Hour)
	p, err := consul.NewWithHealth(h, "web", consul.WithClock(clk.Now, clk.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	s := p.Subscribe()
	h.gate <- struct{}{}
	if ev := next(t, s); ev.Err != nil || len(ev.Instances) != 1 {
		t.Fatalf("first %+v", ev)
	}
	for range 3 {
		h.gate <- struct{}{}
		ev := next(t, s)
		if !errors.Is(ev.Err, down) || fmt.Sprint(publisher.Addresses(ev.Instances)) != "[10.0.0.1:80]" {
			t.Fatalf("during outage %+v, want the error and the last known instance", ev)
		}
	}
	h.gate <- struct{}{}
	ev := next(t, s)
	if ev.Err != nil {
		t.Fatalf("after recovery %+v", ev)
	}
	if got := fmt.Sprint(publisher.Addresses(ev.Instances)); got != "[10.0.0.1:80 10.0.0.2:80]" {
		t.Fatalf("after recovery %s", got)
	}
	cs := h.waitCalls(t, 6)
	if cs[4].q.WaitIndex != 0 || cs[5].q.WaitIndex != 3 {
		t.Fatalf("after the outage waited on %d then %d, want 0 then 3", cs[4].q.WaitIndex, cs[5].q.WaitIndex)
	}
	if st := p.Stats(); st.ConsecutiveFailures != 0 || st.LastError != nil || st.Failures != 3 {
		t.Fatalf("stats after recovery %+v", st)
	}
}

func TestMalformedEntriesAreSkippedAndLogged(t *testing.T) {
	badPort := entry("bad-port", "10.0.0.9", 0, api.HealthPassing)
	noAddr := entry("no-addr", "", 80, api.HealthPassing)
	noAddr.Node = nil
	withPort := entry("with-port", "10.0.0.8:80", 80, api.HealthPassing)
	h := newFakeHealth(step{index: 2, entries: []*api.ServiceEntry{
		nil, {Node: &api.Node{Address: "10.0.0.1"}}, badPort, noAddr, withPort,
		entry("good", "10.0.0.2", 80, api.HealthPassing),
	}})
	var logged atomic.Int32
	logger := log.LoggerFunc(func(kv ...any) error { logged.Add(1); return nil })
	p, err := consul.NewWithHealth(h, "web", consul.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	ev := next(t, p.Subscribe())
	if ev.Err != nil || fmt.Sprint(publisher.Addresses(ev.Instances)) != "[10.0.0.2:80]" {
		t.Fatalf("event %+v, want only the good entry", ev)
	}
	h.waitCalls(t, 2)
	if st := p.Stats(); st.Skipped != 5 {
		t.Fatalf("skipped %d, want 5", st.Skipped)
	}
	if n := logged.Load(); n != 5 {
		t.Fatalf("%d log lines, want one per skipped entry", n)
	}
}

func TestIncludeWarning(t *testing.T) {
	warn := entry("warn", "10.0.0.2", 80, api.HealthWarning)
	warn.Service.Weights = api.AgentWeights{Passing: 10, Warning: 2}
	drained := entry("drained", "10.0.0.3", 80, api.HealthWarning)
	drained.Service.Weights = api.AgentWeights{Passing: 10, Warning: 0}
	es := []*api.ServiceEntry{
		entry("ok", "10.0.0.1", 80, api.HealthPassing), warn, drained,
		entry("down", "10.0.0.4", 80, api.HealthCritical),
	}
	for _, tc := range []struct {
		opts    []consul.Option
		passing bool
		want    string
	}{
		{nil, true, "[10.0.0.1:80]"},
		{[]consul.Option{consul.IncludeWarning()}, false, "[10.0.0.1:80 10.0.0.2:80]"},
	} {
		h := newFakeHealth(step{index: 1, entries: es})
		p, err := consul.NewWithHealth(h, "web", tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		ev := next(t, p.Subscribe())
		p.Stop()
		if got := fmt.Sprint(publisher.Addresses(ev.Instances)); got != tc.want {
			t.Errorf("includeWarning=%v: %s, want %s", !tc.passing, got, tc.want)
		}
		if c := h.Calls()[0]; c.passing != tc.passing {
			t.Errorf("passing-only sent as %v, want %v", c.passing, tc.passing)
		}
		if len(ev.Instances) == 2 && (ev.Instances[1].Weight != 2 || ev.Instances[1].Metadata[consul.MetaHealth] != api.HealthWarning) {
			t.Errorf("warning instance %+v, want its warning weight 2", ev.Instances[1])
		}
	}
}

func TestRateLimitPacesChurningResults(t *testing.T) {
	// Every answer has a new index and a new set, as with a flapping check.
	var steps []step
	for i := range 400 {
		steps = append(steps, step{index: uint64(i + 1), entries: []*api.ServiceEntry{entry("a", "10.0.0.1", 1000+i, api.HealthPassing)}})
	}
	h := newFakeHealth(steps...)
	clk := newFakeClock(10 * time.Second)
	p, err := consul.NewWithHealth(h, "web", consul.WithClock(clk.Now, clk.Sleep), consul.WithRateLimit(100*time.Millisecond, 3))
	if err != nil {
		t.Fatal(err)
	}
	clk.waitParked(t)
	p.Stop()
	// 3 at once, then one per 100ms of the 10 simulated seconds.
	if n := len(h.Calls()); n < 95 || n > 105 {
		t.Fatalf("%d queries in 10 simulated seconds, want about 103", n)
	}
}

func TestStopCancelsBlockingQueryPromptly(t *testing.T) {
	h := newFakeHealth(step{index: 5, entries: []*api.ServiceEntry{entry("a", "10.0.0.1", 80, api.HealthPassing)}})
	p, err := consul.NewWithHealth(h, "web") // default wait: 5 minutes
	if err != nil {
		t.Fatal(err)
	}
	s := p.Subscribe()
	next(t, s)
	h.waitCalls(t, 2) // now blocked in the second query
	start := time.Now()
	p.Stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Stop took %v", d)
	}
	if _, ok := <-s.C(); ok {
		t.Fatal("subscription open after Stop")
	}
	p.Stop() // idempotent
	if _, ok := <-p.Subscribe().C(); ok {
		t.Fatal("Subscribe after Stop returned an open subscription")
	}
}

// TestRealClientUnreachable runs the real consul/api client against a
// loopback port nobody listens on: the error reaches subscribers through
// the same path as with the fake.
func TestRealClientUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := api.DefaultConfig()
	cfg.Address = addr
	p, err := consul.NewFromConfig(cfg, "web", consul.WithBackoff(10*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	ev := next(t, p.Subscribe())
	var op *net.OpError
	if !errors.Is(ev.Err, consul.ErrQuery) || !errors.As(ev.Err, &op) {
		t.Fatalf("event error %v, want ErrQuery wrapping a *net.OpError", ev.Err)
	}
	if cfg.HttpClient != nil {
		t.Fatal("NewFromConfig modified the caller's config")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for p.Stats().Failures < 3 {
		if ctx.Err() != nil {
			t.Fatal("no retries within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRecoveryGraceHoldsEmptyAnswerAfterOutage: a Consul that comes back
// empty (its agents not yet synced) does not empty the balancer; the full
// answer that follows is published.
func TestRecoveryGraceHoldsEmptyAnswerAfterOutage(t *testing.T) {
	a := entry("a", "10.0.0.1", 80, api.HealthPassing)
	b := entry("b", "10.0.0.2", 80, api.HealthPassing)
	down := errors.New("connection refused")
	h := newFakeHealth(
		step{index: 50, entries: []*api.ServiceEntry{a}},
		step{err: down},
		step{index: 3, entries: nil},                       // held
		step{index: 4, entries: []*api.ServiceEntry{a, b}}, // published
		step{index: 5, entries: nil},                       // no outage before: published
	)
	h.gate = make(chan struct{})
	clk := newFakeClock(time.Hour)
	h.clock = clk
	p, err := consul.NewWithHealth(h, "web", consul.WithClock(clk.Now, clk.Sleep), consul.WithRecoveryGrace(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	s := p.Subscribe()
	h.gate <- struct{}{}
	if ev := next(t, s); len(ev.Instances) != 1 {
		t.Fatalf("first %+v", ev)
	}
	h.gate <- struct{}{}
	if ev := next(t, s); !errors.Is(ev.Err, down) {
		t.Fatalf("outage %+v", ev)
	}
	h.gate <- struct{}{} // the empty answer
	h.gate <- struct{}{} // the full one
	ev := next(t, s)
	if ev.Err != nil || fmt.Sprint(publisher.Addresses(ev.Instances)) != "[10.0.0.1:80 10.0.0.2:80]" {
		t.Fatalf("after recovery %+v, want both instances and no empty set before them", ev)
	}
	cs := h.waitCalls(t, 4)
	if w := cs[3].q.WaitTime; w <= 0 || w > 2*time.Second {
		t.Fatalf("query after a held answer waits %v, want at most the 2s grace", w)
	}
	h.gate <- struct{}{}
	if ev := next(t, s); ev.Err != nil || len(ev.Instances) != 0 {
		t.Fatalf("an empty answer outside the grace %+v, want published", ev)
	}
	if st := p.Stats(); st.Held != 1 {
		t.Fatalf("held %d, want 1", st.Held)
	}
}

// TestRecoveryGraceAfterIndexWentBack: a Consul that restarted between two
// queries (no failed query seen, but an index lower than the one waited
// on) gets the same grace as one that was seen down; and the default grace
// covers the registrars' default period.
func TestRecoveryGraceAfterIndexWentBack(t *testing.T) {
	a := entry("a", "10.0.0.1", 80, api.HealthPassing)
	h := newFakeHealth(
		step{index: 50, entries: []*api.ServiceEntry{a}},
		step{index: 3, entries: nil},                    // held: a new Consul
		step{index: 4, entries: []*api.ServiceEntry{a}}, // back: nothing to publish
	)
	h.gate = make(chan struct{})
	clk := newFakeClock(time.Hour)
	h.clock = clk
	p, err := consul.NewWithHealth(h, "web", consul.WithClock(clk.Now, clk.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	s := p.Subscribe()
	h.gate <- struct{}{}
	if ev := next(t, s); len(ev.Instances) != 1 {
		t.Fatalf("first %+v", ev)
	}
	h.gate <- struct{}{}
	h.gate <- struct{}{}
	h.waitCalls(t, 4)
	noEvent(t, s)
	if st := p.Stats(); st.Held != 1 || st.IndexResets != 1 {
		t.Fatalf("stats %+v, want the empty answer held and the index reset", st)
	}
	if consul.DefaultRecoveryGrace < 2*consul.DefaultKeepInterval {
		t.Fatalf("DefaultRecoveryGrace %v, want at least twice DefaultKeepInterval %v", consul.DefaultRecoveryGrace, consul.DefaultKeepInterval)
	}
}

// TestRecoveryGraceEnds: an empty answer that persists past the grace is
// published, and the first answer ever is published even when empty.
func TestRecoveryGraceEnds(t *testing.T) {
	a := entry("a", "10.0.0.1", 80, api.HealthPassing)
	h := newFakeHealth(
		step{index: 1, entries: nil},
		step{index: 2, entries: []*api.ServiceEntry{a}},
		step{err: errors.New("connection refused")},
		step{index: 3, entries: nil},
		step{index: 3, entries: nil, advance: 2500 * time.Millisecond},
	)
	h.gate = make(chan struct{})
	clk := newFakeClock(time.Hour)
	h.clock = clk
	p, err := consul.NewWithHealth(h, "web", consul.WithClock(clk.Now, clk.Sleep), consul.WithRecoveryGrace(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	s := p.Subscribe()
	h.gate <- struct{}{}
	if ev := next(t, s); ev.Err != nil || len(ev.Instances) != 0 {
		t.Fatalf("first answer, empty: %+v, want published", ev)
	}
	h.gate <- struct{}{}
	next(t, s)
	h.gate <- struct{}{}
	next(t, s) // the error
	h.gate <- struct{}{}
	h.waitCalls(t, 5)
	noEvent(t, s)
	h.gate <- struct{}{}
	if ev := next(t, s); ev.Err != nil || len(ev.Instances) != 0 {
		t.Fatalf("empty past the grace: %+v, want published", ev)
	}
}

// badConfig is a configuration api.NewClient refuses: TLS with a CA file
// that does not exist.
func badConfig() *api.Config {
	return &api.Config{Address: "127.0.0.1:8501", Scheme: "https", TLSConfig: api.TLSConfig{CAFile: "/nonexistent/lbkit-ca.pem"}}
}
