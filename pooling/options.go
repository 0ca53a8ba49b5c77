package pooling

import (
	"fmt"
	"time"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// Defaults of the settings, pooly's where pooly has one.
const (
	// DefaultMaxConns is the most connections a pool keeps open to one
	// host, borrowed and idle together.
	DefaultMaxConns = 30
	// DefaultConnRetries is how many times a failed dial is tried again
	// before Get gives up on the host.
	DefaultConnRetries = 3
	// DefaultRetryDelay is the pause between two dial attempts.
	DefaultRetryDelay = 10 * time.Millisecond
	// DefaultTestOnBorrowAfter is the test-on-borrow window, HikariCP's
	// aliveBypassWindowMs: Get runs Driver.TestOnBorrow on an idle
	// connection only if it was not lent within about this long. One that
	// was working a moment ago needs no test, and testing every borrow
	// would cost a system call each time (NetDriver's test is a
	// non-blocking read), many times the pool's own cost. A connection left
	// unborrowed for the whole window is always tested, and a busy one about
	// once per window.
	DefaultTestOnBorrowAfter = 500 * time.Millisecond
	// DefaultPrespawn is how many connections a new pool dials in the
	// background, so that the first request finds one ready.
	DefaultPrespawn = 1
	// DefaultCloseDeadline bounds how long Close waits for borrowed
	// connections to come back.
	DefaultCloseDeadline = 30 * time.Second
	// DefaultGetAttempts is how many hosts GetConn tries before it gives
	// up.
	DefaultGetAttempts = 3
)

// PoolOption configures a connection pool. NewPool and Factory take them,
// and so does NewService, which passes them to the pool of every host.
type PoolOption func(*poolConfig) error

// ServiceOption configures a Service: how it picks hosts (WithStrategy,
// WithGetAttempts, WithHostOptions, WithMetricsInterval) and, since every
// PoolOption is also a ServiceOption, the pools under its hosts. A
// ServiceOption that is not a PoolOption cannot be passed to NewPool or
// Factory: it does not compile.
type ServiceOption interface {
	applyService(*serviceConfig) error
}

func (o PoolOption) applyService(c *serviceConfig) error { return o(&c.pool) }

// serviceOption is a ServiceOption that is not a PoolOption.
type serviceOption func(*serviceConfig) error

func (o serviceOption) applyService(c *serviceConfig) error { return o(c) }

type poolConfig struct {
	maxConns      int
	idleTimeout   time.Duration
	maxLifetime   time.Duration
	waitTimeout   time.Duration
	connRetries   int
	retryDelay    time.Duration
	testOnBorrow  bool
	testAfter     time.Duration
	prespawn      int
	closeDeadline time.Duration
	metrics       *Metrics
}

type serviceConfig struct {
	pool            poolConfig
	strategy        strategy.Strategy
	getAttempts     int
	hostOpts        []strategy.Option
	metricsInterval time.Duration
}

func defaultPoolConfig() poolConfig {
	return poolConfig{
		maxConns:      DefaultMaxConns,
		connRetries:   DefaultConnRetries,
		retryDelay:    DefaultRetryDelay,
		testOnBorrow:  true,
		testAfter:     DefaultTestOnBorrowAfter,
		prespawn:      DefaultPrespawn,
		closeDeadline: DefaultCloseDeadline,
	}
}

func newPoolConfig(opts []PoolOption) (poolConfig, error) {
	c := defaultPoolConfig()
	for _, o := range opts {
		if o == nil {
			return c, invalid("nil option")
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

func newServiceConfig(opts []ServiceOption) (serviceConfig, error) {
	c := serviceConfig{
		pool:            defaultPoolConfig(),
		strategy:        strategy.RoundRobin{},
		getAttempts:     DefaultGetAttempts,
		metricsInterval: strategy.DefaultMetricsInterval,
	}
	for _, o := range opts {
		if nilarg.IsNil(o) {
			return c, invalid("nil option")
		}
		if err := o.applyService(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// WithMaxConns sets the most connections open to one host, borrowed and
// idle together (DefaultMaxConns by default). It must be at least 1.
// Pool.SetMaxConns changes it later.
func WithMaxConns(n int) PoolOption {
	return func(c *poolConfig) error {
		if n < 1 {
			return invalid("max connections %d, want at least 1", n)
		}
		c.maxConns = n
		return nil
	}
}

// WithIdleTimeout closes connections that have stayed idle for d. Zero (the
// default) keeps idle connections open.
func WithIdleTimeout(d time.Duration) PoolOption {
	return func(c *poolConfig) error {
		if d < 0 {
			return invalid("negative idle timeout %v", d)
		}
		c.idleTimeout = d
		return nil
	}
}

// WithMaxLifetime closes connections once they are d old, when they are
// next idle, so that load spreads again after a host set changes and
// server-side limits on connection age are respected. Zero (the default)
// keeps connections for ever.
func WithMaxLifetime(d time.Duration) PoolOption {
	return func(c *poolConfig) error {
		if d < 0 {
			return invalid("negative max lifetime %v", d)
		}
		c.maxLifetime = d
		return nil
	}
}

// WithWaitTimeout bounds how long Get tries to return a connection, waiting
// for a free one and dialling included. Zero (the default) leaves the bound
// to the caller's context alone.
func WithWaitTimeout(d time.Duration) PoolOption {
	return func(c *poolConfig) error {
		if d < 0 {
			return invalid("negative wait timeout %v", d)
		}
		c.waitTimeout = d
		return nil
	}
}

// WithConnRetries sets how many times a failed dial is tried again, and the
// pause between tries (DefaultConnRetries and DefaultRetryDelay by
// default). Zero retries dials once.
func WithConnRetries(retries int, delay time.Duration) PoolOption {
	return func(c *poolConfig) error {
		if retries < 0 {
			return invalid("negative connection retries %d", retries)
		}
		if delay < 0 {
			return invalid("negative retry delay %v", delay)
		}
		c.connRetries, c.retryDelay = retries, delay
		return nil
	}
}

// WithTestOnBorrow runs Driver.TestOnBorrow on an idle connection before
// lending it unless it was lent within the window after
// (DefaultTestOnBorrowAfter by default, which this changes). The window is
// counted in periods of that length: a connection last lent in the current
// period is not tested, so one unborrowed for a whole window or longer
// always is. Zero tests every borrow, which costs NetDriver a system call
// per Get.
func WithTestOnBorrow(after time.Duration) PoolOption {
	return func(c *poolConfig) error {
		if after < 0 {
			return invalid("negative test-on-borrow window %v", after)
		}
		c.testOnBorrow, c.testAfter = true, after
		return nil
	}
}

// WithoutTestOnBorrow never calls Driver.TestOnBorrow.
func WithoutTestOnBorrow() PoolOption {
	return func(c *poolConfig) error {
		c.testOnBorrow = false
		return nil
	}
}

// WithPrespawn sets how many connections a new pool dials in the background
// (DefaultPrespawn by default; zero dials none until the first Get).
func WithPrespawn(n int) PoolOption {
	return func(c *poolConfig) error {
		if n < 0 {
			return invalid("negative prespawn %d", n)
		}
		c.prespawn = n
		return nil
	}
}

// WithCloseDeadline bounds how long Close waits for borrowed connections
// (DefaultCloseDeadline by default). It must be positive.
func WithCloseDeadline(d time.Duration) PoolOption {
	return func(c *poolConfig) error {
		if d <= 0 {
			return invalid("close deadline %v, want a positive duration", d)
		}
		c.closeDeadline = d
		return nil
	}
}

// WithMetrics reports to m. Nil fields of m record nothing; a nil m, or a
// field holding a typed nil, is an invalid argument.
func WithMetrics(m *Metrics) PoolOption {
	return func(c *poolConfig) error {
		if m == nil {
			return invalid("nil metrics")
		}
		if err := m.validate(); err != nil {
			return err
		}
		c.metrics = m
		return nil
	}
}

// WithStrategy sets how a Service picks a host for each GetConn
// (strategy.RoundRobin{} by default, as pooly); for example
// strategy.PeakEWMA{} or strategy.EpsilonGreedy{}, whose Bandit.Transform
// is pooly's score calculator. A nil or invalid strategy is an invalid
// argument.
func WithStrategy(s strategy.Strategy) ServiceOption {
	return serviceOption(func(c *serviceConfig) error {
		if err := strategy.Validate(s); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
		}
		c.strategy = s
		return nil
	})
}

// WithGetAttempts sets how many hosts GetConn tries before it gives up
// (DefaultGetAttempts by default). It must be at least 1.
func WithGetAttempts(n int) ServiceOption {
	return serviceOption(func(c *serviceConfig) error {
		if n < 1 {
			return invalid("get attempts %d, want at least 1", n)
		}
		c.getAttempts = n
		return nil
	})
}

// WithHostOptions configures the statistics a Service keeps per host with
// strategy's options: strategy.WithWindow (pooly's decay duration,
// strategy.DefaultWindow by default), strategy.WithShortWindow, and
// strategy.WithScorer, which scores failed GetConns (Conn.Release is given
// its score by the caller), strategy.WithOutlierEjection and
// strategy.WithSlowStart. A bad option is an error wrapping both
// ErrInvalidArgument and strategy.ErrInvalidArgument.
func WithHostOptions(opts ...strategy.Option) ServiceOption {
	return serviceOption(func(c *serviceConfig) error {
		c.hostOpts = append(c.hostOpts, opts...)
		return nil
	})
}

// WithMetricsInterval sets how often a Service refreshes the hosts.score
// gauge (strategy.DefaultMetricsInterval by default).
func WithMetricsInterval(d time.Duration) ServiceOption {
	return serviceOption(func(c *serviceConfig) error {
		if d <= 0 {
			return invalid("metrics interval %v, want a positive duration", d)
		}
		c.metricsInterval = d
		return nil
	})
}
