package grpcpool

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"google.golang.org/grpc"
)

// Defaults. Every one can be changed with an option.
const (
	// DefaultSize is the number of connections a new pool opens.
	DefaultSize = 3

	// DefaultKeepAliveTime is how long a connection may see no activity
	// before the client pings the server to check that it is still there.
	DefaultKeepAliveTime = 10 * time.Second
	// DefaultKeepAliveTimeout is how long the client waits for the answer
	// to a keep-alive ping before it closes the connection.
	DefaultKeepAliveTimeout = 3 * time.Second
	// DefaultPermitWithoutStream makes idle connections (no RPC under way)
	// send keep-alive pings too, so a dead peer is found before a call is
	// sent to it. Servers must allow this (see the package documentation).
	DefaultPermitWithoutStream = true

	// DefaultInitialWindowSize is the per-stream HTTP/2 flow-control window
	// (256 MiB). A large fixed window keeps big messages flowing without
	// waiting for window updates; setting it turns off grpc's dynamic
	// (BDP-based) window.
	DefaultInitialWindowSize int32 = 1 << 28
	// DefaultInitialConnWindowSize is the per-connection HTTP/2
	// flow-control window (256 MiB).
	DefaultInitialConnWindowSize int32 = 1 << 28

	// DefaultMaxSendMsgSize is the largest request message a call may send
	// (1 GiB); grpc's own default has no limit for sending.
	DefaultMaxSendMsgSize = 1 << 30
	// DefaultMaxRecvMsgSize is the largest response message a call accepts
	// (1 GiB) instead of grpc's 4 MiB.
	DefaultMaxRecvMsgSize = 1 << 30

	// DefaultDialTimeout bounds each attempt to establish a connection
	// (grpc's minimum connect timeout).
	DefaultDialTimeout = 3 * time.Second

	// DefaultFailovers is how many other connections a call that failed
	// before reaching any server is tried on.
	DefaultFailovers = 3

	// DefaultScalePeriod is how often scale-out looks at the load.
	DefaultScalePeriod = 30 * time.Second
	// DefaultDesiredMaxStreams is the number of concurrent calls and
	// streams per connection above which scale-out adds connections.
	DefaultDesiredMaxStreams = 80
	// DefaultMaxConns is the number of connections scale-out never goes
	// beyond.
	DefaultMaxConns = 300
)

// ErrInvalidArgument is wrapped by every error New returns for a bad target or
// option; compare with errors.Is.
var ErrInvalidArgument = errors.New("grpcpool: invalid argument")

// ScaleConfig configures scale-out. A zero field takes its default.
type ScaleConfig struct {
	// Period is how often the load is checked (DefaultScalePeriod).
	Period time.Duration
	// DesiredMaxStreams is the per-connection load the pool aims at
	// (DefaultDesiredMaxStreams).
	DesiredMaxStreams int
	// MaxConns caps the pool's size (DefaultMaxConns).
	MaxConns int
}

func (s ScaleConfig) withDefaults() ScaleConfig {
	if s.Period == 0 {
		s.Period = DefaultScalePeriod
	}
	if s.DesiredMaxStreams == 0 {
		s.DesiredMaxStreams = DefaultDesiredMaxStreams
	}
	if s.MaxConns == 0 {
		s.MaxConns = DefaultMaxConns
	}
	return s
}

func (s ScaleConfig) validate() error {
	switch {
	case s.Period < 0:
		return fmt.Errorf("%w: negative scale period %v", ErrInvalidArgument, s.Period)
	case s.DesiredMaxStreams < 0:
		return fmt.Errorf("%w: negative desired max streams %d", ErrInvalidArgument, s.DesiredMaxStreams)
	case s.MaxConns < 0:
		return fmt.Errorf("%w: negative max conns %d", ErrInvalidArgument, s.MaxConns)
	}
	return nil
}

// Option configures a Pool.
type Option func(*config) error

type config struct {
	size                  int
	keepAliveTime         time.Duration
	keepAliveTimeout      time.Duration
	permitWithoutStream   bool
	initialWindowSize     int32
	initialConnWindowSize int32
	maxSendMsgSize        int
	maxRecvMsgSize        int
	dialTimeout           time.Duration
	dialOptions           []grpc.DialOption
	scaleOut              bool
	scale                 ScaleConfig
	failovers             int
	connectTimeout        time.Duration // 0: New does not wait
	logger                log.Logger
	metrics               *Metrics
}

func defaultConfig() config {
	return config{
		size:                  DefaultSize,
		keepAliveTime:         DefaultKeepAliveTime,
		keepAliveTimeout:      DefaultKeepAliveTimeout,
		permitWithoutStream:   DefaultPermitWithoutStream,
		initialWindowSize:     DefaultInitialWindowSize,
		initialConnWindowSize: DefaultInitialConnWindowSize,
		maxSendMsgSize:        DefaultMaxSendMsgSize,
		maxRecvMsgSize:        DefaultMaxRecvMsgSize,
		dialTimeout:           DefaultDialTimeout,
		scale:                 ScaleConfig{}.withDefaults(),
		failovers:             DefaultFailovers,
		logger:                log.NewNopLogger(),
	}
}

// WithSize sets the number of connections the pool opens (DefaultSize). It
// must be at least 1.
func WithSize(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: size %d, want at least 1", ErrInvalidArgument, n)
		}
		c.size = n
		return nil
	}
}

// WithKeepAlive sets the keep-alive ping interval, the time to wait for its
// answer, and whether idle connections ping too (DefaultKeepAliveTime,
// DefaultKeepAliveTimeout, DefaultPermitWithoutStream).
func WithKeepAlive(interval, timeout time.Duration, permitWithoutStream bool) Option {
	return func(c *config) error {
		if interval <= 0 || timeout <= 0 {
			return fmt.Errorf("%w: keep-alive interval %v and timeout %v must be positive", ErrInvalidArgument, interval, timeout)
		}
		c.keepAliveTime, c.keepAliveTimeout, c.permitWithoutStream = interval, timeout, permitWithoutStream
		return nil
	}
}

// WithWindowSizes sets the HTTP/2 per-stream and per-connection
// flow-control windows (DefaultInitialWindowSize,
// DefaultInitialConnWindowSize). grpc ignores values below 64 KiB.
func WithWindowSizes(stream, conn int32) Option {
	return func(c *config) error {
		if stream <= 0 || conn <= 0 {
			return fmt.Errorf("%w: window sizes %d and %d must be positive", ErrInvalidArgument, stream, conn)
		}
		c.initialWindowSize, c.initialConnWindowSize = stream, conn
		return nil
	}
}

// WithMaxMsgSizes sets the largest message a call may send and receive
// (DefaultMaxSendMsgSize, DefaultMaxRecvMsgSize).
func WithMaxMsgSizes(send, recv int) Option {
	return func(c *config) error {
		if send <= 0 || recv <= 0 {
			return fmt.Errorf("%w: message size limits %d and %d must be positive", ErrInvalidArgument, send, recv)
		}
		c.maxSendMsgSize, c.maxRecvMsgSize = send, recv
		return nil
	}
}

// WithDialTimeout bounds each connection attempt (DefaultDialTimeout).
func WithDialTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: dial timeout %v must be positive", ErrInvalidArgument, d)
		}
		c.dialTimeout = d
		return nil
	}
}

// WithDialOptions adds grpc dial options to the pool's defaults (the
// reference's replaced them, losing the large windows and message limits
// with any option given). They are applied after the pool's own, so they
// win where both set the same thing: pass
// grpc.WithTransportCredentials for TLS (the pool's default is plaintext),
// or grpc.WithConnectParams to change the reconnection back-off (which
// also replaces the dial timeout).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *config) error {
		for _, o := range opts {
			if nilarg.IsNil(o) {
				return fmt.Errorf("%w: nil dial option", ErrInvalidArgument)
			}
		}
		c.dialOptions = append(c.dialOptions, opts...)
		return nil
	}
}

// WithScaleOut turns scale-out on. Every s.Period the pool adds up
// (total − size × DesiredMaxStreams) / (DesiredMaxStreams / 2) connections,
// rounded up, when the calls and streams under way (total) exceed size ×
// DesiredMaxStreams, never growing beyond MaxConns. Zero fields of s take
// their defaults. The pool never shrinks: closing a connection would break
// the streams on it.
func WithScaleOut(s ScaleConfig) Option {
	return func(c *config) error {
		if err := s.validate(); err != nil {
			return err
		}
		c.scaleOut, c.scale = true, s.withDefaults()
		return nil
	}
}

// WithFailover sets how many other connections a call that failed before
// reaching any server is tried on (DefaultFailovers; see Pool). Zero turns
// failover off.
func WithFailover(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: negative failover count %d", ErrInvalidArgument, n)
		}
		c.failovers = n
		return nil
	}
}

// WithLogger sets the logger for connection and scale-out events. The
// default discards them.
func WithLogger(l log.Logger) Option {
	return func(c *config) error {
		if nilarg.IsNil(l) {
			return fmt.Errorf("%w: nil logger", ErrInvalidArgument)
		}
		c.logger = l
		return nil
	}
}
