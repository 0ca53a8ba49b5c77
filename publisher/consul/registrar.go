package consul

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/hashicorp/consul/api"
)

// Defaults of a Registrar.
const (
	// DefaultCloseTimeout bounds the deregistration Close performs
	// (WithCloseTimeout).
	DefaultCloseTimeout = 5 * time.Second
	// DefaultTTLRefreshDivisor: a TTL check is refreshed every TTL divided
	// by this (WithTTLRefresh), so two refreshes can fail before the check
	// turns critical.
	DefaultTTLRefreshDivisor = 3
)

var (
	// ErrNilRegistration is returned by NewRegistrar for a nil registration.
	ErrNilRegistration = errors.New("consul: nil registration")
	// ErrInvalidRegistration is wrapped by the error NewRegistrar returns
	// for a registration that could not be discovered or deregistered
	// (no name or ID, a bad port or address, bad weights or checks).
	ErrInvalidRegistration = errors.New("consul: invalid registration")
	// ErrRegistrarClosed is returned by Register and SetStatus after Close.
	ErrRegistrarClosed = errors.New("consul: registrar closed")
	// ErrNoTTLCheck is returned by SetStatus when the registration has no
	// TTL check whose status it could set.
	ErrNoTTLCheck = errors.New("consul: registration has no TTL check")
	// ErrRegister, ErrDeregister and ErrTTLUpdate are wrapped, together
	// with the client's error, by the errors of the matching agent calls.
	ErrRegister   = errors.New("consul: register failed")
	ErrDeregister = errors.New("consul: deregister failed")
	ErrTTLUpdate  = errors.New("consul: TTL update failed")
)

// RegistrarOption configures a Registrar.
type RegistrarOption func(*registrarConfig) error

type registrarConfig struct {
	ttl            time.Duration
	refresh        time.Duration
	httpURL        string
	httpInterval   time.Duration
	httpTimeout    time.Duration
	deregisterLate time.Duration
	onError        func(error)
	logger         log.Logger
	closeTimeout   time.Duration
}

// WithTTLCheck adds a TTL check to the registration: the instance stays
// passing only while the Registrar refreshes it, so a process that dies or
// hangs leaves rotation within ttl.
func WithTTLCheck(ttl time.Duration) RegistrarOption {
	return func(c *registrarConfig) error {
		if ttl <= 0 {
			return fmt.Errorf("%w: TTL %v", ErrInvalidOption, ttl)
		}
		c.ttl = ttl
		return nil
	}
}

// WithTTLRefresh sets how often TTL checks are refreshed (default: the
// shortest TTL divided by DefaultTTLRefreshDivisor). It must be shorter than
// every TTL.
func WithTTLRefresh(d time.Duration) RegistrarOption {
	return func(c *registrarConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: TTL refresh %v", ErrInvalidOption, d)
		}
		c.refresh = d
		return nil
	}
}

// WithHTTPCheck adds a check in which the agent GETs rawURL every interval
// and counts a 2xx answer within timeout as passing (429 as warning).
func WithHTTPCheck(rawURL string, interval, timeout time.Duration) RegistrarOption {
	return func(c *registrarConfig) error {
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: HTTP check URL %q", ErrInvalidOption, rawURL)
		}
		if interval <= 0 || timeout <= 0 {
			return fmt.Errorf("%w: HTTP check interval %v timeout %v", ErrInvalidOption, interval, timeout)
		}
		c.httpURL, c.httpInterval, c.httpTimeout = rawURL, interval, timeout
		return nil
	}
}

// WithDeregisterCriticalAfter makes the agent remove the service once a
// check this Registrar added has been critical for d (Consul enforces at
// least one minute), so a crashed instance does not linger as critical.
func WithDeregisterCriticalAfter(d time.Duration) RegistrarOption {
	return func(c *registrarConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: deregister critical after %v", ErrInvalidOption, d)
		}
		c.deregisterLate = d
		return nil
	}
}

// WithErrorHandler receives the errors of the Registrar's own goroutine
// (failed TTL refreshes and re-registrations), which no call returns. It is
// called from that goroutine and must not block for long. Errors of
// Register, SetStatus, Deregister and Close are returned instead.
func WithErrorHandler(f func(error)) RegistrarOption {
	return func(c *registrarConfig) error {
		if f == nil {
			return fmt.Errorf("%w: nil error handler", ErrInvalidOption)
		}
		c.onError = f
		return nil
	}
}

// WithRegistrarLogger sets the logger for the errors of the Registrar's own
// goroutine (they go to the WithErrorHandler callback as well).
func WithRegistrarLogger(l log.Logger) RegistrarOption {
	return func(c *registrarConfig) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		c.logger = l
		return nil
	}
}

// WithCloseTimeout bounds the deregistration that Close performs (default
// DefaultCloseTimeout).
func WithCloseTimeout(d time.Duration) RegistrarOption {
	return func(c *registrarConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: close timeout %v", ErrInvalidOption, d)
		}
		c.closeTimeout = d
		return nil
	}
}

// Registrar registers one service instance with a Consul agent and keeps
// its TTL checks passing. Create it with NewRegistrar; Close it when done.
type Registrar struct {
	agent        AgentClient
	reg          api.AgentServiceRegistration // checks filled in; read-only after New
	ttlChecks    []string
	refresh      time.Duration
	onError      func(error)
	logger       log.Logger
	closeTimeout time.Duration
	closeIdle    func()

	mu         sync.Mutex // serialises Register, SetStatus, Deregister, Close
	registered bool
	closed     bool
	keepStop   context.CancelFunc
	keepDone   chan struct{}

	smu    sync.Mutex // status and stats, also read by the keeper
	status string
	output string
	stats  RegistrarStats
}

// RegistrarStats describes what a Registrar has done so far.
type RegistrarStats struct {
	// Registered reports whether the service is registered as far as the
	// Registrar knows (Register succeeded, no Deregister since).
	Registered bool
	// Registrations counts successful register calls, including the
	// keeper's re-registrations, which Reregistrations counts alone.
	Registrations   uint64
	Reregistrations uint64
	// TTLUpdates counts successful TTL refreshes.
	TTLUpdates uint64
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
		return nil, ErrNilClient
	}
	return NewRegistrarWithAgent(client.Agent(), reg, opts...)
}

// NewRegistrarFromConfig is NewRegistrar with a client built from cfg
// (copied, not modified). Close releases its idle connections unless cfg
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
	if agent == nil {
		return nil, ErrNilClient
	}
	if reg == nil {
		return nil, ErrNilRegistration
	}
	cfg := registrarConfig{logger: log.NewNopLogger(), onError: func(error) {}, closeTimeout: DefaultCloseTimeout}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	r := &Registrar{
		agent:        agent,
		onError:      cfg.onError,
		logger:       cfg.logger,
		closeTimeout: cfg.closeTimeout,
		status:       api.HealthPassing,
	}
	if err := r.prepare(reg, cfg); err != nil {
		return nil, err
	}
	return r, nil
}

// prepare validates reg and stores the registration to send: reg's own
// checks plus those the options add, each TTL check with an ID so that it
// can be refreshed.
func (r *Registrar) prepare(reg *api.AgentServiceRegistration, cfg registrarConfig) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidRegistration, fmt.Sprintf(format, args...))
	}
	switch {
	case reg.Name == "":
		return bad("no Name")
	case reg.ID == "":
		// Consul would default the ID to the name, which collides as soon
		// as two instances share an agent.
		return bad("service %q: no ID", reg.Name)
	case reg.Port <= 0 || reg.Port > 65535:
		return bad("service %q: port %d (the publisher cannot route to it)", reg.ID, reg.Port)
	}
	if reg.Address != "" {
		if _, err := normaliseHost(reg.Address); err != nil {
			return bad("service %q: %v", reg.ID, err)
		}
	}
	if w := reg.Weights; w != nil && (w.Passing < 1 || w.Warning < 0) {
		return bad("service %q: weights passing %d warning %d (need passing >= 1, warning >= 0)", reg.ID, w.Passing, w.Warning)
	}

	// The caller may go on using reg: keep copies of what it points to.
	r.reg = *reg
	r.reg.Tags = slices.Clone(reg.Tags)
	r.reg.Meta = maps.Clone(reg.Meta)
	r.reg.TaggedAddresses = maps.Clone(reg.TaggedAddresses)
	if reg.Weights != nil {
		w := *reg.Weights
		r.reg.Weights = &w
	}
	late := ""
	if cfg.deregisterLate > 0 {
		late = cfg.deregisterLate.String()
	}
	var checks api.AgentServiceChecks
	if reg.Check != nil {
		checks = append(checks, reg.Check)
	}
	checks = append(checks, reg.Checks...)
	if cfg.ttl > 0 {
		checks = append(checks, &api.AgentServiceCheck{
			CheckID:                        reg.ID + ":ttl",
			Name:                           "TTL of " + reg.ID,
			TTL:                            cfg.ttl.String(),
			DeregisterCriticalServiceAfter: late,
		})
	}
	if cfg.httpURL != "" {
		checks = append(checks, &api.AgentServiceCheck{
			CheckID:                        reg.ID + ":http",
			Name:                           "HTTP health of " + reg.ID,
			HTTP:                           cfg.httpURL,
			Interval:                       cfg.httpInterval.String(),
			Timeout:                        cfg.httpTimeout.String(),
			DeregisterCriticalServiceAfter: late,
		})
	}

	// Every TTL check, the caller's included, gets an ID (so it can be
	// refreshed) and is kept passing; the shortest TTL sets the pace.
	var shortest time.Duration
	ids := make(map[string]bool, len(checks))
	for n, c := range checks {
		if c == nil {
			return bad("service %q: nil check", reg.ID)
		}
		cc := *c
		if cc.TTL != "" {
			d, err := time.ParseDuration(cc.TTL)
			if err != nil || d <= 0 {
				return bad("service %q: check TTL %q", reg.ID, cc.TTL)
			}
			if cc.CheckID == "" {
				cc.CheckID = fmt.Sprintf("%s:ttl:%d", reg.ID, n+1)
			}
			r.ttlChecks = append(r.ttlChecks, cc.CheckID)
			if shortest == 0 || d < shortest {
				shortest = d
			}
		}
		if cc.CheckID != "" {
			if ids[cc.CheckID] {
				return bad("service %q: check ID %q used twice", reg.ID, cc.CheckID)
			}
			ids[cc.CheckID] = true
		}
		checks[n] = &cc
	}
	r.reg.Check = nil
	r.reg.Checks = checks

	switch {
	case shortest == 0:
	case cfg.refresh == 0:
		r.refresh = shortest / DefaultTTLRefreshDivisor
	case cfg.refresh >= shortest:
		return fmt.Errorf("%w: TTL refresh %v not shorter than TTL %v", ErrInvalidOption, cfg.refresh, shortest)
	default:
		r.refresh = cfg.refresh
	}
	return nil
}

// Register registers the service with the agent (again, if it is
// registered already: the agent replaces the old definition and its
// checks) and, when there are TTL checks, starts the goroutine that keeps
// them passing. A TTL check starts in the status last set with SetStatus,
// passing by default, so the instance is in rotation at once.
func (r *Registrar) Register(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrRegistrarClosed
	}
	if err := r.register(ctx); err != nil {
		return err
	}
	r.registered = true
	r.count(func(s *RegistrarStats) { s.Registered = true })
	if len(r.ttlChecks) > 0 && r.keepDone == nil {
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
		return fmt.Errorf("%w: status %q", ErrInvalidOption, status)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrRegistrarClosed
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
// registered, so Deregister (or Close) can be tried again.
func (r *Registrar) Deregister(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deregister(ctx)
}

// Close deregisters the service (bounded by WithCloseTimeout) and makes
// later Register and SetStatus calls fail with ErrRegistrarClosed. It
// returns the deregistration's error; it is idempotent, and calls after the
// first return nil.
func (r *Registrar) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), r.closeTimeout)
	defer cancel()
	err := r.deregister(ctx)
	if r.closeIdle != nil {
		r.closeIdle()
	}
	return err
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

// keep refreshes the TTL checks until ctx is cancelled. A failed refresh
// is followed by a registration: an agent restarted without its data (a
// dev agent always is) has forgotten the service, and registering again is
// harmless when it has not. Each call is bounded by the refresh period so
// a hung agent cannot stall the loop.
func (r *Registrar) keep(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(r.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, r.refresh)
		err := r.updateTTL(cctx)
		if err != nil && ctx.Err() == nil {
			r.report(err)
			if err = r.register(cctx); err == nil {
				r.count(func(s *RegistrarStats) { s.Reregistrations++ })
			} else if ctx.Err() == nil {
				r.report(err)
			}
		}
		cancel()
	}
}

func (r *Registrar) report(err error) {
	level.Warn(r.logger).Log("msg", "consul registrar", "service", r.reg.ID, "err", err)
	r.onError(err)
}

// failed records a failed agent call, unless it failed only because the
// caller (or Deregister, stopping the keeper) cancelled it. A deadline that
// ran out is a failure: the agent did not answer in time.
func (r *Registrar) failed(ctx context.Context, err error) {
	if errors.Is(ctx.Err(), context.Canceled) && errors.Is(err, context.Canceled) {
		return
	}
	r.count(func(s *RegistrarStats) { s.Failures++; s.LastError = err })
}

func (r *Registrar) count(f func(*RegistrarStats)) {
	r.smu.Lock()
	f(&r.stats)
	r.smu.Unlock()
}
