package pooling

import (
	"time"

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
	// DefaultPrespawn is how many connections a new pool dials in the
	// background, so that the first request finds one ready.
	DefaultPrespawn = 1
	// DefaultGetAttempts is how many hosts GetConn tries before it gives
	// up.
	DefaultGetAttempts = 3
	// DefaultCloseDeadline bounds how long Close waits for borrowed
	// connections to come back.
	DefaultCloseDeadline = 30 * time.Second
	// DefaultDecayWindow is the time constant of the decayed host scores a
	// Service keeps, pooly's decay duration.
	DefaultDecayWindow = strategy.DefaultWindow
	// DefaultMetricsInterval is how often a Service refreshes the
	// hosts.score gauge.
	DefaultMetricsInterval = time.Second
)

// Predefined scores for Conn.Release, all or nothing.
const (
	// HostDown is the score of a failed use; fatal errors force it.
	HostDown float64 = 0
	// HostUp is the score of a fully successful use.
	HostUp float64 = 1
)

// Option configures a Pool, a Service (which passes the pool settings to
// the pool of each host) or a Factory (which passes them to the pool of each
// instance). Options about host selection only matter to a Service and are
// ignored elsewhere.
type Option func(*config) error

type config struct {
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
	clock         strategy.Clock

	// Service only.
	strategy        strategy.Strategy
	getAttempts     int
	window          time.Duration
	scoreFunc       func(float64) float64
	metricsInterval time.Duration
}

func newConfig(opts []Option) (config, error) {
	c := config{
		maxConns:        DefaultMaxConns,
		connRetries:     DefaultConnRetries,
		retryDelay:      DefaultRetryDelay,
		testOnBorrow:    true,
		prespawn:        DefaultPrespawn,
		closeDeadline:   DefaultCloseDeadline,
		clock:           strategy.MonotonicClock,
		strategy:        strategy.RoundRobin(),
		getAttempts:     DefaultGetAttempts,
		window:          DefaultDecayWindow,
		metricsInterval: DefaultMetricsInterval,
	}
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

// WithMaxConns sets the most connections open to one host, borrowed and
// idle together (DefaultMaxConns by default). It must be at least 1.
// Pool.SetMaxConns changes it later.
func WithMaxConns(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("max connections %d, want at least 1", n)
		}
		c.maxConns = n
		return nil
	}
}

// WithIdleTimeout closes connections that have stayed idle for d. Zero (the
// default) keeps idle connections open.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) error {
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
func WithMaxLifetime(d time.Duration) Option {
	return func(c *config) error {
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
func WithWaitTimeout(d time.Duration) Option {
	return func(c *config) error {
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
func WithConnRetries(retries int, delay time.Duration) Option {
	return func(c *config) error {
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

// WithTestOnBorrow runs Driver.TestOnBorrow only on connections that have
// been idle for at least minIdle, sparing the test on busy connections that
// were in use a moment ago. Zero (the default) tests every borrow.
func WithTestOnBorrow(minIdle time.Duration) Option {
	return func(c *config) error {
		if minIdle < 0 {
			return invalid("negative test-on-borrow idle time %v", minIdle)
		}
		c.testOnBorrow, c.testAfter = true, minIdle
		return nil
	}
}

// WithoutTestOnBorrow never calls Driver.TestOnBorrow.
func WithoutTestOnBorrow() Option {
	return func(c *config) error {
		c.testOnBorrow = false
		return nil
	}
}

// WithPrespawn sets how many connections a new pool dials in the background
// (DefaultPrespawn by default; zero dials none until the first Get).
func WithPrespawn(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return invalid("negative prespawn %d", n)
		}
		c.prespawn = n
		return nil
	}
}

// WithCloseDeadline bounds how long Close waits for borrowed connections
// (DefaultCloseDeadline by default). It must be positive.
func WithCloseDeadline(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return invalid("close deadline %v, want a positive duration", d)
		}
		c.closeDeadline = d
		return nil
	}
}

// WithMetrics reports to m. Nil fields of m, and a nil m, record nothing.
func WithMetrics(m *Metrics) Option {
	return func(c *config) error {
		c.metrics = m
		return nil
	}
}

// WithClock sets the clock that times connection ages, waits and borrows,
// and the host statistics of a Service. Tests pass a manual clock; a nil
// clock keeps strategy.MonotonicClock. Waits are still bounded in real time.
func WithClock(clock strategy.Clock) Option {
	return func(c *config) error {
		if clock != nil {
			c.clock = clock
		}
		return nil
	}
}

// WithStrategy sets how a Service picks a host for each GetConn
// (strategy.RoundRobin by default, as pooly).
func WithStrategy(s strategy.Strategy) Option {
	return func(c *config) error {
		if s == nil {
			return invalid("nil strategy")
		}
		c.strategy = s
		return nil
	}
}

// WithGetAttempts sets how many hosts GetConn tries before it gives up
// (DefaultGetAttempts by default). It must be at least 1.
func WithGetAttempts(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("get attempts %d, want at least 1", n)
		}
		c.getAttempts = n
		return nil
	}
}

// WithDecayWindow sets the time constant over which a Service's host scores
// decay (DefaultDecayWindow by default): recent outcomes weigh more, and an
// outcome one window old weighs 1/e of a new one.
func WithDecayWindow(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return invalid("decay window %v, want a positive duration", d)
		}
		c.window = d
		return nil
	}
}

// WithScoreFunc transforms every score given to Conn.Release before it is
// recorded (pooly's score calculator): for example math.Sqrt to forgive
// middling results, or a square to punish them. f should map [0,1] into
// [0,1]; results outside are clamped.
func WithScoreFunc(f func(score float64) float64) Option {
	return func(c *config) error {
		if f == nil {
			return invalid("nil score function")
		}
		c.scoreFunc = f
		return nil
	}
}

// WithMetricsInterval sets how often a Service refreshes the hosts.score
// gauge (DefaultMetricsInterval by default).
func WithMetricsInterval(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return invalid("metrics interval %v, want a positive duration", d)
		}
		c.metricsInterval = d
		return nil
	}
}
