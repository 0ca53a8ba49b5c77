package consul

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/hashicorp/consul/api"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
	"github.com/seed41aebe0c/lbkit/internal/nilarg"
)

// Defaults of a Registrar.
const (
	// DefaultStopTimeout bounds the deregistration Stop performs
	// (WithStopTimeout).
	DefaultStopTimeout = 5 * time.Second
	// DefaultTTLRefreshDivisor: a TTL check is refreshed every TTL divided
	// by this, but at least every DefaultKeepInterval (WithTTLRefresh sets
	// another period), so two refreshes can fail before the check turns
	// critical.
	DefaultTTLRefreshDivisor = 3
	// DefaultKeepInterval is the longest a Registrar goes without asking
	// its agent about the service: TTL checks are refreshed at least this
	// often, and a registration without a TTL check is looked up this
	// often. It bounds how long an agent that came back without its state
	// (a dev agent, a replaced node, a lost disk) goes without the service
	// before the Registrar registers it again; the publisher's
	// DefaultRecoveryGrace is twice as long, so an empty answer in between
	// is not published.
	DefaultKeepInterval = 5 * time.Second
	// DefaultRetryMin and DefaultRetryMax bound the jittered exponential
	// back-off after a failed refresh, look-up or re-registration (never
	// longer than the refresh period): an agent that comes back gets the
	// service again within about DefaultRetryMax, not a whole period
	// later.
	DefaultRetryMin = 100 * time.Millisecond
	DefaultRetryMax = time.Second
)

var (
	// ErrRegistrarStopped is returned by Register and SetStatus after Stop.
	ErrRegistrarStopped = errors.New("consul: registrar stopped")
	// ErrNoTTLCheck is returned by SetStatus when the registration has no
	// TTL check whose status it could set.
	ErrNoTTLCheck = errors.New("consul: registration has no TTL check")
	// ErrRegister, ErrDeregister and ErrTTLUpdate are wrapped, together
	// with the client's error, by the errors of the matching agent calls.
	ErrRegister   = errors.New("consul: register failed")
	ErrDeregister = errors.New("consul: deregister failed")
	ErrTTLUpdate  = errors.New("consul: TTL update failed")
	// ErrLookup is wrapped, with the client's error, when the agent could
	// not confirm that it has a registration without a TTL check (it
	// forgot it, or could not be reached); the Registrar then registers
	// it again.
	ErrLookup = errors.New("consul: service look-up failed")
)

// Registrar registers one service instance with a Consul agent, keeps its
// TTL checks passing, and registers it again whenever the agent has lost it.
// Create it with NewRegistrar; Stop it when done.
type Registrar struct {
	agent     AgentClient
	reg       api.AgentServiceRegistration // checks filled in; read-only after New
	ttlChecks []string
	// period is how often the keeper refreshes the TTL checks (or looks
	// the service up, without one); retry spaces its tries after a failure.
	period      time.Duration
	retry       backoff.Policy
	onError     func(error)
	logger      log.Logger
	stopTimeout time.Duration
	closeIdle   func()

	mu         sync.Mutex // serialises Register, SetStatus, Deregister, Stop
	registered bool
	stopped    bool
	keepStop   context.CancelFunc
	keepDone   chan struct{}

	smu    sync.Mutex // status and stats, also read by the keeper
	status string
	output string
	stats  RegistrarStats
}

// RegistrarStats describes what a Registrar has done so far.
type RegistrarStats struct {
	// Registered reports whether the agent had the service at the
	// Registrar's last word with it: true after a successful Register,
	// refresh, look-up or re-registration; false before Register, after
	// Deregister, and from a failed refresh or look-up (the agent lost the
	// service, or cannot be reached) until a re-registration succeeds.
	Registered bool
	// Registrations counts successful register calls, including the
	// keeper's re-registrations, which Reregistrations counts alone.
	Registrations   uint64
	Reregistrations uint64
	// TTLUpdates counts successful TTL refreshes, and Lookups the
	// successful look-ups that confirm a registration without a TTL check.
	TTLUpdates uint64
	Lookups    uint64
	// Failures counts failed agent calls of any kind.
	Failures uint64
	// LastError is the last failed call's error.
	LastError error
}

// NewRegistrar returns a registrar of reg with the agent that client talks
// to. reg needs a Name, an ID unique on that agent (it is what Deregister
// uses) and a Port; an empty Address lets Consul use the node's address.
// reg is copied (with its tags, meta, weights and checks): later changes to
// it have no effect. The caller keeps ownership of client.
func NewRegistrar(client *api.Client, reg *api.AgentServiceRegistration, opts ...RegistrarOption) (*Registrar, error) {
	if client == nil {
		return nil, invalid("nil *api.Client")
	}
	return NewRegistrarWithAgent(client.Agent(), reg, opts...)
}

// NewRegistrarFromConfig is NewRegistrar with a client built from cfg
// (copied, not modified). Stop releases its idle connections unless cfg
// brought its own HttpClient.
func NewRegistrarFromConfig(cfg *api.Config, reg *api.AgentServiceRegistration, opts ...RegistrarOption) (*Registrar, error) {
	client, closeIdle, err := clientFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	r, err := NewRegistrarWithAgent(client.Agent(), reg, opts...)
	if err != nil {
		return nil, err
	}
	r.closeIdle = closeIdle
	return r, nil
}

// NewRegistrarWithAgent is NewRegistrar over any AgentClient.
func NewRegistrarWithAgent(agent AgentClient, reg *api.AgentServiceRegistration, opts ...RegistrarOption) (*Registrar, error) {
	if nilarg.IsNil(agent) {
		return nil, invalid("nil AgentClient")
	}
	if reg == nil {
		return nil, invalid("nil registration")
	}
	cfg := registrarConfig{
		logger: log.NewNopLogger(), onError: func(error) {}, stopTimeout: DefaultStopTimeout,
		keepEvery: DefaultKeepInterval, retryMin: DefaultRetryMin, retryMax: DefaultRetryMax,
	}
	for _, o := range opts {
		if nilarg.IsNil(o) {
			return nil, invalid("nil option")
		}
		if err := o.applyRegistrar(&cfg); err != nil {
			return nil, err
		}
	}
	r := &Registrar{
		agent:       agent,
		onError:     cfg.onError,
		logger:      cfg.logger,
		stopTimeout: cfg.stopTimeout,
		status:      api.HealthPassing,
	}
	if err := r.prepare(reg, cfg); err != nil {
		return nil, err
	}
	return r, nil
}

// Register registers the service with the agent (again, if it is
// registered already: the agent replaces the old definition and its
// checks) and starts the goroutine that keeps it there: it refreshes the
// TTL checks (or, without one, asks the agent for the service) every
// period, and when that fails registers the service again, retrying on a
// short back-off until the agent takes it. A TTL check starts in the status
// last set with SetStatus, passing by default, so the instance is in
// rotation at once.
func (r *Registrar) Register(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return ErrRegistrarStopped
	}
	if err := r.register(ctx); err != nil {
		return err
	}
	r.registered = true
	r.count(func(s *RegistrarStats) { s.Registered = true })
	if r.keepDone == nil {
		kctx, cancel := context.WithCancel(context.Background())
		r.keepStop, r.keepDone = cancel, make(chan struct{})
		go r.keep(kctx, r.keepDone)
	}
	return nil
}

// SetStatus sets the status (api.HealthPassing, api.HealthWarning or
// api.HealthCritical) and note of the registration's TTL checks, now if the
// service is registered and on every later refresh. Warning or critical
// drains an instance without deregistering it.
func (r *Registrar) SetStatus(ctx context.Context, status, output string) error {
	switch status {
	case api.HealthPassing, api.HealthWarning, api.HealthCritical:
	default:
		return invalid("status %q", status)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return ErrRegistrarStopped
	}
	if len(r.ttlChecks) == 0 {
		return ErrNoTTLCheck
	}
	r.smu.Lock()
	r.status, r.output = status, output
	r.smu.Unlock()
	if !r.registered {
		return nil
	}
	return r.updateTTL(ctx)
}

// Deregister stops refreshing the TTL checks and removes the service from
// the agent. Deregistering a service that is not registered does nothing.
// When the agent call fails the Registrar still counts the service as
// registered, so Deregister (or Stop) can be tried again.
func (r *Registrar) Deregister(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deregister(ctx)
}

// Stop deregisters the service (bounded by WithStopTimeout) and makes later
// Register and SetStatus calls fail with ErrRegistrarStopped. A failed
// deregistration goes to the logger, the WithErrorHandler function and
// Stats; call Deregister first to get its error back. Stop is idempotent.
func (r *Registrar) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), r.stopTimeout)
	defer cancel()
	if err := r.deregister(ctx); err != nil {
		r.report(err)
	}
	if r.closeIdle != nil {
		r.closeIdle()
	}
}

// Stats returns a snapshot of the Registrar's counters.
func (r *Registrar) Stats() RegistrarStats {
	r.smu.Lock()
	defer r.smu.Unlock()
	return r.stats
}

// deregister is Deregister with r.mu held.
func (r *Registrar) deregister(ctx context.Context) error {
	if r.keepDone != nil {
		r.keepStop()
		<-r.keepDone
		r.keepStop, r.keepDone = nil, nil
	}
	if !r.registered {
		return nil
	}
	q := (&api.QueryOptions{Namespace: r.reg.Namespace, Partition: r.reg.Partition}).WithContext(ctx)
	if err := r.agent.ServiceDeregisterOpts(r.reg.ID, q); err != nil {
		err = fmt.Errorf("%w: service %q: %w", ErrDeregister, r.reg.ID, err)
		r.failed(ctx, err)
		return err
	}
	r.registered = false
	r.count(func(s *RegistrarStats) { s.Registered = false })
	return nil
}

// register sends the registration with the TTL checks in the current status.
func (r *Registrar) register(ctx context.Context) error {
	r.smu.Lock()
	status, output := r.status, r.output
	r.smu.Unlock()
	reg := r.reg
	reg.Checks = make(api.AgentServiceChecks, len(r.reg.Checks))
	for n, c := range r.reg.Checks {
		cc := *c
		if cc.TTL != "" {
			cc.Status, cc.Notes = status, output
		}
		reg.Checks[n] = &cc
	}
	// ReplaceExistingChecks makes a repeated Register converge on exactly
	// these checks instead of accumulating old ones.
	opts := api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx)
	if err := r.agent.ServiceRegisterOpts(&reg, opts); err != nil {
		err = fmt.Errorf("%w: service %q: %w", ErrRegister, r.reg.ID, err)
		r.failed(ctx, err)
		return err
	}
	r.count(func(s *RegistrarStats) { s.Registrations++ })
	return nil
}

// updateTTL reports the current status on every TTL check.
func (r *Registrar) updateTTL(ctx context.Context) error {
	r.smu.Lock()
	status, output := r.status, r.output
	r.smu.Unlock()
	q := (&api.QueryOptions{Namespace: r.reg.Namespace, Partition: r.reg.Partition}).WithContext(ctx)
	for _, id := range r.ttlChecks {
		if err := r.agent.UpdateTTLOpts(id, output, status, q); err != nil {
			err = fmt.Errorf("%w: check %q: %w", ErrTTLUpdate, id, err)
			r.failed(ctx, err)
			return err
		}
	}
	r.count(func(s *RegistrarStats) { s.TTLUpdates++ })
	return nil
}

// lookup asks the agent whether it has the service: how a registration
// without a TTL check learns that an agent came back without its state.
func (r *Registrar) lookup(ctx context.Context) error {
	q := (&api.QueryOptions{Namespace: r.reg.Namespace, Partition: r.reg.Partition}).WithContext(ctx)
	svc, _, err := r.agent.Service(r.reg.ID, q)
	if err == nil && svc == nil {
		err = errors.New("no service in the answer")
	}
	if err != nil {
		err = fmt.Errorf("%w: service %q: %w", ErrLookup, r.reg.ID, err)
		r.failed(ctx, err)
		return err
	}
	r.count(func(s *RegistrarStats) { s.Lookups++ })
	return nil
}
