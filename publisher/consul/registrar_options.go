package consul

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"time"

	"github.com/go-kit/log"
	"github.com/hashicorp/consul/api"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
)

type registrarConfig struct {
	ttl            time.Duration
	refresh        time.Duration
	httpURL        string
	httpInterval   time.Duration
	httpTimeout    time.Duration
	deregisterLate time.Duration
	onError        func(error)
	logger         log.Logger
	stopTimeout    time.Duration
	// keepEvery, retryMin and retryMax are the keeper's defaults; only
	// tests change them.
	keepEvery, retryMin, retryMax time.Duration
}

type registrarOption func(*registrarConfig) error

func (o registrarOption) applyRegistrar(c *registrarConfig) error { return o(c) }

// WithTTLCheck adds a TTL check to the registration: the instance stays
// passing only while the Registrar refreshes it, so a process that dies or
// hangs leaves rotation within ttl.
func WithTTLCheck(ttl time.Duration) RegistrarOption {
	return registrarOption(func(c *registrarConfig) error {
		if ttl <= 0 {
			return invalid("TTL %v", ttl)
		}
		c.ttl = ttl
		return nil
	})
}

// WithTTLRefresh sets how often TTL checks are refreshed (default: the
// shortest TTL divided by DefaultTTLRefreshDivisor, at most
// DefaultKeepInterval). It must be shorter than every TTL. It is also how
// soon the Registrar notices an agent that restarted without its state: a
// period longer than DefaultKeepInterval needs a publisher recovery grace
// (WithRecoveryGrace) of about twice the period, or subscribers may see the
// service empty after such a restart.
func WithTTLRefresh(d time.Duration) RegistrarOption {
	return registrarOption(func(c *registrarConfig) error {
		if d <= 0 {
			return invalid("TTL refresh %v", d)
		}
		c.refresh = d
		return nil
	})
}

// WithHTTPCheck adds a check in which the agent GETs rawURL every interval
// and counts a 2xx answer within timeout as passing (429 as warning).
func WithHTTPCheck(rawURL string, interval, timeout time.Duration) RegistrarOption {
	return registrarOption(func(c *registrarConfig) error {
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("HTTP check URL %q", rawURL)
		}
		if interval <= 0 || timeout <= 0 {
			return invalid("HTTP check interval %v timeout %v", interval, timeout)
		}
		c.httpURL, c.httpInterval, c.httpTimeout = rawURL, interval, timeout
		return nil
	})
}

// WithDeregisterCriticalAfter makes the agent remove the service once a
// check this Registrar added has been critical for d (Consul enforces at
// least one minute), so a crashed instance does not linger as critical.
func WithDeregisterCriticalAfter(d time.Duration) RegistrarOption {
	return registrarOption(func(c *registrarConfig) error {
		if d <= 0 {
			return invalid("deregister critical after %v", d)
		}
		c.deregisterLate = d
		return nil
	})
}

// WithErrorHandler receives the errors of the Registrar's own goroutine
// (failed TTL refreshes, look-ups and re-registrations), which no call
// returns. It is
// called from that goroutine and must not block for long. Errors of
// Register, SetStatus and Deregister are returned instead; a failed
// deregistration on Stop comes here too, as Stop returns nothing.
func WithErrorHandler(f func(error)) RegistrarOption {
	return registrarOption(func(c *registrarConfig) error {
		if f == nil {
			return invalid("nil error handler")
		}
		c.onError = f
		return nil
	})
}

// WithStopTimeout bounds the deregistration that Stop performs (default
// DefaultStopTimeout).
func WithStopTimeout(d time.Duration) RegistrarOption {
	return registrarOption(func(c *registrarConfig) error {
		if d <= 0 {
			return invalid("stop timeout %v", d)
		}
		c.stopTimeout = d
		return nil
	})
}

// prepare validates reg and stores the registration to send: reg's own
// checks plus those the options add, each TTL check with an ID so that it
// can be refreshed.
func (r *Registrar) prepare(reg *api.AgentServiceRegistration, cfg registrarConfig) error {
	bad := func(format string, args ...any) error {
		return invalid("registration: "+format, args...)
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
		r.period = cfg.keepEvery
	case cfg.refresh == 0:
		r.period = min(shortest/DefaultTTLRefreshDivisor, cfg.keepEvery)
	case cfg.refresh >= shortest:
		return invalid("TTL refresh %v not shorter than TTL %v", cfg.refresh, shortest)
	default:
		r.period = cfg.refresh
	}
	r.retry = backoff.Policy{Min: min(cfg.retryMin, r.period), Max: min(cfg.retryMax, r.period), Jitter: backoff.Equal}
	return nil
}
