package dnssrv

import (
	"fmt"
	"net"
	"time"

	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/publisher"
)

// DefaultLookupTimeout bounds one lookup unless WithLookupTimeout says
// otherwise. It is shorter than any sensible interval so that a hung DNS
// server shows up as an error event rather than as silence.
const DefaultLookupTimeout = 5 * time.Second

// ErrInvalidArgument is wrapped by every error New, NewClient and the
// options return for an argument they cannot use: an SRV name that is not a
// DNS name (empty, "a..b", a label over 63 bytes, a URL), a zero
// or negative interval, timeout or TTL floor, a nil resolver or logger,
// WithTTL with a resolver that reports no TTLs, a DNS server that is not
// host:port. It wraps publisher.ErrInvalidArgument, so errors.Is matches
// either.
var ErrInvalidArgument = fmt.Errorf("dnssrv: %w", publisher.ErrInvalidArgument)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}

// Option configures a Publisher.
type Option func(*config) error

type config struct {
	resolver       Resolver
	logger         log.Logger
	timeout        time.Duration
	honourTTL      bool
	ttlFloor       time.Duration
	notFoundAsNone bool
	zoneLabel      int // 1-based label of the target naming the zone; 0: none
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
// Dial func to ask another server, or a *Client to also get TTLs. A nil
// resolver, typed nil included, is refused.
func WithResolver(r Resolver) Option {
	return func(c *config) error {
		if nilarg.IsNil(r) {
			return invalid("nil resolver")
		}
		c.resolver = r
		return nil
	}
}

// WithLogger sets the logger for skipped records and failed lookups. Skipped
// records are logged at warning level (github.com/go-kit/log/level). The
// default logs nothing.
func WithLogger(l log.Logger) Option {
	return func(c *config) error {
		if nilarg.IsNil(l) {
			return invalid("nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithLookupTimeout bounds each lookup (default DefaultLookupTimeout).
func WithLookupTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return invalid("lookup timeout %v: must be positive", d)
		}
		c.timeout = d
		return nil
	}
}

// WithTTL makes the publisher poll again when the records' TTL (the
// smallest in the answer) expires, but never sooner than floor after the
// previous lookup and never later than the interval given to New. Failed
// lookups are retried after the interval. The resolver must implement
// TTLResolver (*net.Resolver does not report TTLs; Client does), or New
// returns an error wrapping ErrInvalidArgument.
func WithTTL(floor time.Duration) Option {
	return func(c *config) error {
		if floor <= 0 {
			return invalid("TTL floor %v: must be positive", floor)
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
