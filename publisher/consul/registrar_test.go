package consul_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/consul"
)

// fakeAgent records agent calls and fails them as the test says.
type fakeAgent struct {
	mu            sync.Mutex
	registrations []api.AgentServiceRegistration
	replace       []bool
	deregs        []string
	deregQ        []api.QueryOptions
	ttl           []string // "checkID status output"
	regErr        error
	deregErr      error
	ttlErr        error
	lookupErr     error
	lookups       int
}

func (a *fakeAgent) Service(id string, q *api.QueryOptions) (*api.AgentService, *api.QueryMeta, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lookups++
	if a.lookupErr != nil {
		return nil, nil, a.lookupErr
	}
	return &api.AgentService{ID: id}, &api.QueryMeta{}, nil
}

func (a *fakeAgent) ServiceRegisterOpts(s *api.AgentServiceRegistration, o api.ServiceRegisterOpts) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.regErr != nil {
		return a.regErr
	}
	a.registrations = append(a.registrations, *s)
	a.replace = append(a.replace, o.ReplaceExistingChecks)
	return nil
}

func (a *fakeAgent) ServiceDeregisterOpts(id string, q *api.QueryOptions) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.deregErr != nil {
		return a.deregErr
	}
	a.deregs = append(a.deregs, id)
	a.deregQ = append(a.deregQ, *q)
	return nil
}

func (a *fakeAgent) UpdateTTLOpts(id, output, status string, q *api.QueryOptions) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ttlErr != nil {
		return a.ttlErr
	}
	a.ttl = append(a.ttl, id+" "+status+" "+output)
	return nil
}

func (a *fakeAgent) set(f func(a *fakeAgent)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

func (a *fakeAgent) snapshot() (regs []api.AgentServiceRegistration, deregs, ttl []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.registrations), slices.Clone(a.deregs), slices.Clone(a.ttl)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func service() *api.AgentServiceRegistration {
	return &api.AgentServiceRegistration{ID: "web-1", Name: "web", Address: "127.0.0.1", Port: 8080}
}

func TestNewRegistrarRejectsBadInput(t *testing.T) {
	a := &fakeAgent{}
	invalid := func(err error) bool {
		return errors.Is(err, consul.ErrInvalidArgument) && errors.Is(err, publisher.ErrInvalidArgument)
	}
	for name, call := range map[string]func() error{
		"nil client": func() error { _, err := consul.NewRegistrar(nil, service()); return err },
		"nil config": func() error { _, err := consul.NewRegistrarFromConfig(nil, service()); return err },
		"bad config": func() error {
			_, err := consul.NewRegistrarFromConfig(badConfig(), service())
			return err
		},
		"nil agent":        func() error { _, err := consul.NewRegistrarWithAgent(nil, service()); return err },
		"typed nil agent":  func() error { _, err := consul.NewRegistrarWithAgent((*api.Agent)(nil), service()); return err },
		"nil registration": func() error { _, err := consul.NewRegistrarWithAgent(a, nil); return err },
	} {
		if err := call(); !invalid(err) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
	bad := map[string]func(r *api.AgentServiceRegistration){
		"no name":         func(r *api.AgentServiceRegistration) { r.Name = "" },
		"no ID":           func(r *api.AgentServiceRegistration) { r.ID = "" },
		"port 0":          func(r *api.AgentServiceRegistration) { r.Port = 0 },
		"port 70000":      func(r *api.AgentServiceRegistration) { r.Port = 70000 },
		"address w/ port": func(r *api.AgentServiceRegistration) { r.Address = "127.0.0.1:80" },
		"passing 0":       func(r *api.AgentServiceRegistration) { r.Weights = &api.AgentWeights{Passing: 0, Warning: 1} },
		"warning -1":      func(r *api.AgentServiceRegistration) { r.Weights = &api.AgentWeights{Passing: 1, Warning: -1} },
		"nil check":       func(r *api.AgentServiceRegistration) { r.Checks = api.AgentServiceChecks{nil} },
		"bad TTL":         func(r *api.AgentServiceRegistration) { r.Check = &api.AgentServiceCheck{TTL: "soon"} },
		"duplicate check": func(r *api.AgentServiceRegistration) {
			r.Checks = api.AgentServiceChecks{{CheckID: "c", TTL: "1s"}, {CheckID: "c", TTL: "2s"}}
		},
	}
	for name, mutate := range bad {
		r := service()
		mutate(r)
		if _, err := consul.NewRegistrarWithAgent(a, r); !invalid(err) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
	for name, opts := range map[string][]consul.RegistrarOption{
		"nil option":     {nil},
		"TTL 0":          {consul.WithTTLCheck(0)},
		"refresh >= TTL": {consul.WithTTLCheck(time.Second), consul.WithTTLRefresh(time.Second)},
		"refresh 0":      {consul.WithTTLRefresh(0)},
		"HTTP URL":       {consul.WithHTTPCheck("localhost:80/health", time.Second, time.Second)},
		"HTTP interval":  {consul.WithHTTPCheck("http://127.0.0.1/health", 0, time.Second)},
		"dereg after 0":  {consul.WithDeregisterCriticalAfter(0)},
		"nil handler":    {consul.WithErrorHandler(nil)},
		"nil logger":     {consul.WithLogger(nil)},
		"stop timeout 0": {consul.WithStopTimeout(0)},
	} {
		if _, err := consul.NewRegistrarWithAgent(a, service(), opts...); !invalid(err) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
	if regs, _, _ := a.snapshot(); len(regs) != 0 {
		t.Fatal("a rejected registrar called the agent")
	}
}

func TestRegistrarKeepsTTLPassingAndDeregistersOnStop(t *testing.T) {
	a := &fakeAgent{}
	reg := service()
	reg.Namespace, reg.Partition = "team-a", "part-1"
	reg.Tags, reg.Meta = []string{"v1"}, map[string]string{"zone": "a"}
	r, err := consul.NewRegistrarWithAgent(a, reg, consul.WithTTLCheck(300*time.Millisecond),
		consul.WithDeregisterCriticalAfter(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// The registrar holds a copy.
	reg.Port, reg.Tags[0], reg.Meta["zone"] = 1, "late", "late"
	if err := r.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	regs, _, _ := a.snapshot()
	if len(regs) != 1 || regs[0].Port != 8080 || regs[0].Tags[0] != "v1" || regs[0].Meta["zone"] != "a" || len(regs[0].Checks) != 1 || !a.replace[0] {
		t.Fatalf("registration %+v (replace existing checks %v)", regs, a.replace)
	}
	c := regs[0].Checks[0]
	if c.CheckID != "web-1:ttl" || c.TTL != "300ms" || c.Status != api.HealthPassing || c.DeregisterCriticalServiceAfter != "1m0s" {
		t.Fatalf("TTL check %+v", c)
	}
	// Refreshed every TTL/3 = 100ms.
	waitUntil(t, "three TTL refreshes", func() bool { _, _, ttl := a.snapshot(); return len(ttl) >= 3 })
	if _, _, ttl := a.snapshot(); ttl[0] != "web-1:ttl passing " {
		t.Fatalf("TTL update %q", ttl[0])
	}
	r.Stop()
	_, deregs, ttl := a.snapshot()
	if !slices.Equal(deregs, []string{"web-1"}) || a.deregQ[0].Namespace != "team-a" || a.deregQ[0].Partition != "part-1" {
		t.Fatalf("deregistrations %v %+v", deregs, a.deregQ)
	}
	time.Sleep(250 * time.Millisecond) // long enough for two more refreshes, were the keeper still running
	if _, _, after := a.snapshot(); len(after) != len(ttl) {
		t.Fatal("TTL refreshed after Stop")
	}
	r.Stop()
	if _, deregs, _ := a.snapshot(); len(deregs) != 1 {
		t.Fatalf("second Stop deregistered again: %v", deregs)
	}
	if err := r.Register(context.Background()); !errors.Is(err, consul.ErrRegistrarStopped) {
		t.Fatalf("Register after Stop: %v", err)
	}
	if err := r.SetStatus(context.Background(), api.HealthPassing, ""); !errors.Is(err, consul.ErrRegistrarStopped) {
		t.Fatalf("SetStatus after Stop: %v", err)
	}
	if st := r.Stats(); st.Registered || st.Registrations != 1 || st.TTLUpdates < 3 || st.Failures != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRegistrarReturnsAgentErrors(t *testing.T) {
	boom := errors.New("Unexpected response code: 500")
	a := &fakeAgent{regErr: boom}
	r, err := consul.NewRegistrarWithAgent(a, service(), consul.WithTTLCheck(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Register(context.Background()); !errors.Is(err, consul.ErrRegister) || !errors.Is(err, boom) {
		t.Fatalf("Register: %v, want ErrRegister wrapping the agent's error", err)
	}
	if st := r.Stats(); st.Registered || st.Failures != 1 || !errors.Is(st.LastError, boom) {
		t.Fatalf("stats %+v", st)
	}
	// Never registered: Stop has nothing to deregister.
	r.Stop()
	if _, deregs, _ := a.snapshot(); len(deregs) != 0 {
		t.Fatalf("deregistered a service that was never registered: %v", deregs)
	}
}

func TestDeregisterFailureCanBeRetried(t *testing.T) {
	boom := errors.New("connection refused")
	a := &fakeAgent{}
	r, err := consul.NewRegistrarWithAgent(a, service())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.set(func(a *fakeAgent) { a.deregErr = boom })
	if err := r.Deregister(context.Background()); !errors.Is(err, consul.ErrDeregister) || !errors.Is(err, boom) {
		t.Fatalf("Deregister: %v", err)
	}
	if !r.Stats().Registered {
		t.Fatal("a failed deregistration forgot the registration")
	}
	a.set(func(a *fakeAgent) { a.deregErr = nil })
	if err := r.Deregister(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Deregister(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, deregs, _ := a.snapshot(); len(deregs) != 1 {
		t.Fatalf("deregistrations %v, want exactly one", deregs)
	}
	r.Stop()
}

func TestStopReportsDeregisterError(t *testing.T) {
	boom := errors.New("connection refused")
	a := &fakeAgent{}
	var reported []error // Stop reports from the caller's goroutine
	r, err := consul.NewRegistrarWithAgent(a, service(), consul.WithStopTimeout(time.Second),
		consul.WithErrorHandler(func(err error) { reported = append(reported, err) }))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.set(func(a *fakeAgent) { a.deregErr = boom })
	r.Stop()
	if len(reported) != 1 || !errors.Is(reported[0], consul.ErrDeregister) || !errors.Is(reported[0], boom) {
		t.Fatalf("Stop reported %v, want ErrDeregister wrapping the agent's error", reported)
	}
	if st := r.Stats(); !errors.Is(st.LastError, boom) || st.Failures != 1 {
		t.Fatalf("stats %+v after a failed deregistration on Stop", st)
	}
	r.Stop()
	if len(reported) != 1 {
		t.Fatalf("second Stop reported again: %v", reported)
	}
}

func TestKeeperReregistersWhenAgentForgotTheCheck(t *testing.T) {
	// What a dev agent says after a restart: it has no such check.
	unknown := errors.New(`Unexpected response code: 404 (Unknown check ID "web-1:ttl")`)
	var mu sync.Mutex
	var reported []error
	a := &fakeAgent{}
	r, err := consul.NewRegistrarWithAgent(a, service(), consul.WithTTLCheck(time.Second),
		consul.WithTTLRefresh(20*time.Millisecond),
		consul.WithErrorHandler(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if err := r.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.set(func(a *fakeAgent) { a.ttlErr = unknown })
	waitUntil(t, "re-registration", func() bool { return r.Stats().Reregistrations >= 1 })
	a.set(func(a *fakeAgent) { a.ttlErr = nil })
	mu.Lock()
	first := reported[0]
	mu.Unlock()
	if !errors.Is(first, consul.ErrTTLUpdate) || !errors.Is(first, unknown) {
		t.Fatalf("reported %v, want ErrTTLUpdate wrapping the agent's error", first)
	}
	regs, _, _ := a.snapshot()
	if last := regs[len(regs)-1]; last.ID != "web-1" || last.Checks[0].Status != api.HealthPassing {
		t.Fatalf("re-registration %+v", last)
	}
}

func TestKeeperReportsAgentDownAtBackoffPace(t *testing.T) {
	down := errors.New("connection refused")
	var mu sync.Mutex
	var reported []error
	a := &fakeAgent{}
	r, err := consul.NewRegistrarWithAgent(a, service(), consul.WithTTLCheck(time.Second),
		consul.WithTTLRefresh(20*time.Millisecond),
		consul.WithErrorHandler(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.set(func(a *fakeAgent) { a.ttlErr, a.regErr = down, down })
	time.Sleep(300 * time.Millisecond) // an observation window
	a.set(func(a *fakeAgent) { a.ttlErr, a.regErr = nil, nil })
	if err := r.Deregister(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	mu.Lock()
	defer mu.Unlock()
	// Two errors (refresh, re-register) per try, and tries at least 10ms
	// apart (the back-off, capped at the 20ms period, waits 10-20ms): a loop
	// that retried without waiting would report thousands.
	if len(reported) == 0 || len(reported) > 2*(300/10+2) {
		t.Fatalf("%d errors reported in 300ms", len(reported))
	}
	var sawRegister bool
	for _, err := range reported {
		if !errors.Is(err, down) {
			t.Fatalf("reported %v", err)
		}
		sawRegister = sawRegister || errors.Is(err, consul.ErrRegister)
	}
	if !sawRegister {
		t.Fatal("the keeper never tried to register again")
	}
}

func TestSetStatus(t *testing.T) {
	a := &fakeAgent{}
	plain, err := consul.NewRegistrarWithAgent(a, service())
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.SetStatus(context.Background(), api.HealthCritical, ""); !errors.Is(err, consul.ErrNoTTLCheck) {
		t.Fatalf("SetStatus without TTL check: %v", err)
	}
	plain.Stop()

	r, err := consul.NewRegistrarWithAgent(a, service(), consul.WithTTLCheck(time.Second), consul.WithTTLRefresh(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if err := r.SetStatus(context.Background(), "sleepy", ""); !errors.Is(err, consul.ErrInvalidArgument) || !errors.Is(err, publisher.ErrInvalidArgument) {
		t.Fatalf("bad status: %v", err)
	}
	// Before Register: remembered, and the registration starts with it.
	if err := r.SetStatus(context.Background(), api.HealthWarning, "warming up"); err != nil {
		t.Fatal(err)
	}
	if _, _, ttl := a.snapshot(); len(ttl) != 0 {
		t.Fatal("SetStatus before Register called the agent")
	}
	if err := r.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	regs, _, _ := a.snapshot()
	if c := regs[len(regs)-1].Checks[0]; c.Status != api.HealthWarning || c.Notes != "warming up" {
		t.Fatalf("registered check %+v", c)
	}
	if err := r.SetStatus(context.Background(), api.HealthCritical, "draining"); err != nil {
		t.Fatal(err)
	}
	_, _, ttl := a.snapshot()
	if last := ttl[len(ttl)-1]; last != "web-1:ttl critical draining" {
		t.Fatalf("last TTL update %q", last)
	}
	n := len(ttl)
	waitUntil(t, "refreshes", func() bool { _, _, ttl := a.snapshot(); return len(ttl) >= n+2 })
	_, _, ttl = a.snapshot()
	if last := ttl[len(ttl)-1]; last != "web-1:ttl critical draining" {
		t.Fatalf("the keeper reports %q, want the status set", last)
	}
}

func TestHTTPCheckAndCallersChecks(t *testing.T) {
	a := &fakeAgent{}
	reg := service()
	reg.Check = &api.AgentServiceCheck{TTL: "2s"}
	reg.Checks = api.AgentServiceChecks{{CheckID: "script", TCP: "127.0.0.1:8080", Interval: "10s"}}
	r, err := consul.NewRegistrarWithAgent(a, reg,
		consul.WithHTTPCheck("http://127.0.0.1:8080/health", time.Second, 500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	regs, _, _ := a.snapshot()
	got := regs[0]
	if got.Check != nil || len(got.Checks) != 3 {
		t.Fatalf("checks %+v", got.Checks)
	}
	if c := got.Checks[0]; c.CheckID != "web-1:ttl:1" || c.Status != api.HealthPassing {
		t.Fatalf("caller's TTL check %+v, want an ID and passing", c)
	}
	if c := got.Checks[2]; c.CheckID != "web-1:http" || c.HTTP != "http://127.0.0.1:8080/health" || c.Interval != "1s" || c.Timeout != "500ms" {
		t.Fatalf("HTTP check %+v", c)
	}
	if reg.Check.CheckID != "" {
		t.Fatal("the caller's registration was modified")
	}
	r.Stop()
}

// TestKeeperRetriesOnShortBackoff: a refresh that fails is tried again on
// the short back-off (DefaultRetryMin..DefaultRetryMax), not a whole period
// later, so an agent that comes back gets the service back at once.
func TestKeeperRetriesOnShortBackoff(t *testing.T) {
	down := errors.New("connection refused")
	a := &fakeAgent{}
	r, err := consul.NewRegistrarWithAgent(a, service(), consul.WithTTLCheck(time.Minute), consul.WithTTLRefresh(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	a.set(func(a *fakeAgent) { a.ttlErr, a.regErr = down, down })
	if err := r.Register(context.Background()); !errors.Is(err, down) {
		t.Fatalf("Register: %v", err)
	}
	a.set(func(a *fakeAgent) { a.regErr = nil })
	if err := r.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The first refresh, 2s on, fails; so does the re-registration.
	a.set(func(a *fakeAgent) { a.regErr = down })
	waitUntil(t, "a failed refresh", func() bool { return r.Stats().Failures >= 2 })
	if r.Stats().Registered {
		t.Fatal("Registered still true while the agent cannot be reached")
	}
	back := time.Now()
	a.set(func(a *fakeAgent) { a.ttlErr, a.regErr = nil, nil })
	waitUntil(t, "registered again", func() bool { return r.Stats().Registered })
	if d := time.Since(back); d > consul.DefaultRetryMax+500*time.Millisecond {
		t.Fatalf("registered again %v after the agent came back, want within the back-off (%v)", d, consul.DefaultRetryMax)
	}
}

// TestKeeperReregistersWithoutTTLCheck: a registration with only an HTTP
// check is looked up every period; when the agent has forgotten it, it is
// registered again, and Stats().Registered is false in between.
func TestKeeperReregistersWithoutTTLCheck(t *testing.T) {
	unknown := errors.New(`Unexpected response code: 404 (unknown service ID: web-1)`)
	var mu sync.Mutex
	var reported []error
	a := &fakeAgent{}
	r, err := consul.NewRegistrarWithAgent(a, service(),
		consul.WithHTTPCheck("http://127.0.0.1:8080/health", time.Second, time.Second),
		consul.WithKeepInterval(20*time.Millisecond),
		consul.WithErrorHandler(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if err := r.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "look-ups", func() bool { return r.Stats().Lookups >= 2 })
	// The agent lost its state and cannot take the service yet.
	a.set(func(a *fakeAgent) { a.lookupErr, a.regErr = unknown, errors.New("no leader") })
	waitUntil(t, "not registered", func() bool { return !r.Stats().Registered })
	a.set(func(a *fakeAgent) { a.regErr = nil })
	waitUntil(t, "re-registration", func() bool { return r.Stats().Reregistrations >= 1 })
	if !r.Stats().Registered {
		t.Fatal("Registered false after a re-registration")
	}
	regs, _, _ := a.snapshot()
	if last := regs[len(regs)-1]; last.ID != "web-1" || len(last.Checks) != 1 || last.Checks[0].HTTP == "" {
		t.Fatalf("re-registration %+v", last)
	}
	mu.Lock()
	first := reported[0]
	mu.Unlock()
	if !errors.Is(first, consul.ErrLookup) || !errors.Is(first, unknown) {
		t.Fatalf("reported %v, want ErrLookup wrapping the agent's error", first)
	}
	if _, _, ttl := a.snapshot(); len(ttl) != 0 {
		t.Fatalf("TTL updates without a TTL check: %v", ttl)
	}
}

// TestDefaultRefreshPeriod: TTL/3, at most DefaultKeepInterval; without a
// TTL check the registration is looked up every DefaultKeepInterval.
func TestDefaultRefreshPeriod(t *testing.T) {
	for ttl, want := range map[time.Duration]time.Duration{
		3 * time.Second: time.Second,
		time.Minute:     consul.DefaultKeepInterval,
		0:               consul.DefaultKeepInterval,
	} {
		var opts []consul.RegistrarOption
		if ttl > 0 {
			opts = append(opts, consul.WithTTLCheck(ttl))
		}
		r, err := consul.NewRegistrarWithAgent(&fakeAgent{}, service(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got := consul.Period(r); got != want {
			t.Errorf("TTL %v: period %v, want %v", ttl, got, want)
		}
	}
	if consul.DefaultRecoveryGrace < 2*consul.DefaultKeepInterval {
		t.Errorf("DefaultRecoveryGrace %v does not cover twice DefaultKeepInterval %v", consul.DefaultRecoveryGrace, consul.DefaultKeepInterval)
	}
}
