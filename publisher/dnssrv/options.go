package dnssrv

import (
	"errors"
	"net"
	"time"

	"github.com/go-kit/log"
)

// DefaultLookupTimeout bounds one lookup unless WithLookupTimeout says
// otherwise. It is shorter than any sensible interval so that a hung DNS
// server shows up as an error event rather than as silence.
const DefaultLookupTimeout = 5 * time.Second

// Errors returned by New and its options.
var (
	// ErrEmptyName is returned by New for an empty SRV name.
	ErrEmptyName = errors.New("dnssrv: empty SRV name")
	// ErrInvalidInterval is returned for a zero or negative interval or
	// TTL floor.
	ErrInvalidInterval = errors.New("dnssrv: interval must be positive")
	// ErrNilResolver is returned by WithResolver(nil).
	ErrNilResolver = errors.New("dnssrv: nil resolver")
	// ErrInvalidTimeout is returned for a zero or negative lookup timeout.
	ErrInvalidTimeout = errors.New("dnssrv: lookup timeout must be positive")
	// ErrTTLUnsupported is returned by New when WithTTL is used with a
	// resolver that does not implement TTLResolver (*net.Resolver does not
	// report TTLs; Client does).
	ErrTTLUnsupported = errors.New("dnssrv: WithTTL needs a resolver that reports TTLs (a TTLResolver such as *Client)")
)

// Option configures a Publisher.
type Option func(*config) error

type config struct {
	resolver       Resolver
	logger         log.Logger
	timeout        time.Duration
	honourTTL      bool
	ttlFloor       time.Duration
	notFoundAsNone bool
}

func defaultConfig() config {
	return config{
		resolver: net.DefaultResolver,
		logger:   log.NewNopLogger(),
		timeout:  DefaultLookupTimeout,
	}
}

// WithResolver sets the resolver. The default is net.DefaultResolver, which
// asks the system's DNS servers; give a *net.Resolver with PreferGo and a
// Dial func to ask another server, or a *Client to also get TTLs.
func WithResolver(r Resolver) Option {
	return func(c *config) error {
		if r == nil {
			return ErrNilResolver
		}
		c.resolver = r
		return nil
	}
}

// WithLogger sets the logger for skipped records and failed lookups. Skipped
// records are logged at warning level (github.com/go-kit/log/level).
func WithLogger(l log.Logger) Option {
	return func(c *config) error {
		if l != nil {
			c.logger = l
		}
		return nil
	}
}

// WithLookupTimeout bounds each lookup (default DefaultLookupTimeout).
func WithLookupTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return ErrInvalidTimeout
		}
		c.timeout = d
		return nil
	}
}

// WithTTL makes the publisher poll again when the records' TTL (the
// smallest in the answer) expires, but never sooner than floor after the
// previous lookup and never later than the interval given to New. Failed
// lookups are retried after the interval. The resolver must implement
// TTLResolver, or New returns ErrTTLUnsupported.
func WithTTL(floor time.Duration) Option {
	return func(c *config) error {
		if floor <= 0 {
			return ErrInvalidInterval
		}
		c.honourTTL, c.ttlFloor = true, floor
		return nil
	}
}

// WithNotFoundAsEmpty makes a lookup that finds no records (NXDOMAIN, or a
// name without SRV records) publish an empty instance set instead of an
// error. Use it where removing the last record is how a service is taken
// out; by default such an answer keeps the last known instances.
func WithNotFoundAsEmpty() Option {
	return func(c *config) error {
		c.notFoundAsNone = true
		return nil
	}
}
