package grpcpool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/go-kit/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// ErrClosed is returned by Invoke and NewStream after Close, and by a call
// that was under way when Close ended it. Like grpc's own error for a closed
// ClientConn it carries codes.Canceled, so status.Code works on it; compare
// with errors.Is.
var ErrClosed = status.Error(codes.Canceled, "grpcpool: pool is closed")

// Pool is a set of *grpc.ClientConn to one target that is itself a
// grpc.ClientConnInterface: pass it to a generated NewXxxClient in place of
// a *grpc.ClientConn.
//
// Each call or stream goes to the connection with the fewest calls under
// way among three drawn at random, preferring READY connections, then IDLE
// ones, and skipping connections that are connecting or failing while a
// usable one exists (then the least loaded usable connection is taken).
// A call that fails with codes.Unavailable before it reached any server
// (grpc assigned it no transport, so nothing was sent) is tried again on
// the best connection not yet tried, even one still connecting (the retry
// then waits for it as any call would), up to DefaultFailovers times;
// WithFailover changes that. Several connections to one server that went
// away all fail this way, which is why one retry is not enough.
//
// A Pool is safe for concurrent use. Close it when done.
type Pool struct {
	target   string
	cfg      config
	dialOpts []grpc.DialOption
	logger   log.Logger

	conns  atomic.Pointer[[]*conn]
	closed atomic.Bool

	mu     sync.Mutex // serialises growth and Close
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ grpc.ClientConnInterface = (*Pool)(nil)

// conn is one pooled connection. Its counters are written on every call, so
// the padding keeps two conns' counters off one cache line.
type conn struct {
	cc       *grpc.ClientConn
	inflight atomic.Int64
	state    atomic.Int32 // connectivity.State, kept current by Pool.watch
	_        [48]byte
}

// New opens a pool of connections to target (any target grpc.NewClient
// accepts, such as "host:port" or "dns:///name:port"). Like grpc.NewClient
// it does not wait for the connections: they connect in the background, and
// calls made before one is READY wait for it as grpc's own would; with
// WithConnectTimeout it waits for one READY connection and reports an
// unreachable target (ErrUnreachable). Bad options or a target grpc cannot
// parse give an error wrapping ErrInvalidArgument.
func New(target string, opts ...Option) (*Pool, error) {
	if target == "" {
		return nil, fmt.Errorf("%w: empty target", ErrInvalidArgument)
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidArgument)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.scaleOut && cfg.size > cfg.scale.MaxConns {
		return nil, fmt.Errorf("%w: size %d exceeds scale-out max conns %d", ErrInvalidArgument, cfg.size, cfg.scale.MaxConns)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pool{target: target, cfg: cfg, logger: log.With(cfg.logger, "component", "grpcpool", "target", target), ctx: ctx, cancel: cancel}
	p.dialOpts = p.dialOptions()
	conns := make([]*conn, 0, cfg.size)
	for range cfg.size {
		c, err := p.dial()
		if err != nil {
			cancel()
			for _, c := range conns {
				_ = c.cc.Close()
			}
			p.wg.Wait()
			return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
		}
		conns = append(conns, c)
	}
	p.conns.Store(&conns)
	if cfg.connectTimeout > 0 {
		if err := p.awaitReady(cfg.connectTimeout); err != nil {
			_ = p.Close()
			return nil, err
		}
	}
	if cfg.scaleOut {
		p.wg.Add(1)
		go p.scaleLoop()
	}
	p.startMetrics()
	return p, nil
}

// dialOptions are the pool's defaults followed by the user's, so the user's
// win.
func (p *Pool) dialOptions() []grpc.DialOption {
	c := p.cfg
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:                c.keepAliveTime,
			Timeout:             c.keepAliveTimeout,
			PermitWithoutStream: c.permitWithoutStream,
		}),
		grpc.WithInitialWindowSize(c.initialWindowSize),
		grpc.WithInitialConnWindowSize(c.initialConnWindowSize),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallSendMsgSize(c.maxSendMsgSize),
			grpc.MaxCallRecvMsgSize(c.maxRecvMsgSize),
		),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.DefaultConfig, MinConnectTimeout: c.dialTimeout}),
		// The pool keeps its connections warm (see watch); grpc's idle
		// mode would only tear them down for watch to rebuild.
		grpc.WithIdleTimeout(0),
	}
	return append(opts, c.dialOptions...)
}

func (p *Pool) dial() (*conn, error) {
	cc, err := grpc.NewClient(p.target, p.dialOpts...)
	if err != nil {
		return nil, err
	}
	c := &conn{cc: cc}
	c.state.Store(int32(cc.GetState()))
	p.wg.Add(1)
	go p.watch(c)
	return c, nil
}

// watch keeps c.state current, so that picking reads an atomic instead of
// taking the ClientConn's lock, and wakes the connection whenever it falls
// IDLE (after a GOAWAY or a lost transport): picking prefers READY
// connections, so without a wake-up an IDLE one might never be used again.
func (p *Pool) watch(c *conn) {
	defer p.wg.Done()
	s := c.cc.GetState()
	for {
		c.state.Store(int32(s))
		if s == connectivity.Idle {
			c.cc.Connect()
		}
		if !c.cc.WaitForStateChange(p.ctx, s) {
			return
		}
		s = c.cc.GetState()
	}
}

func (p *Pool) live() ([]*conn, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	return *p.conns.Load(), nil
}

// Invoke performs a unary RPC on one of the pool's connections. It
// implements grpc.ClientConnInterface.
func (p *Pool) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return p.try(ctx, opts, func(c *conn, opts []grpc.CallOption) error {
		c.inflight.Add(1)
		defer c.inflight.Add(-1)
		return c.cc.Invoke(ctx, method, args, reply, opts...)
	})
}

// NewStream begins a streaming RPC on one of the pool's connections. It
// implements grpc.ClientConnInterface. The stream counts as under way on
// its connection until it ends the way grpc defines: RecvMsg returns an
// error (io.EOF included; for a stream without server streaming, the first
// RecvMsg ends it), SendMsg returns an error other than io.EOF, or ctx is
// done.
func (p *Pool) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	var cs grpc.ClientStream
	err := p.try(ctx, opts, func(c *conn, opts []grpc.CallOption) error {
		var err error
		cs, err = newStreamOn(ctx, c, desc, method, opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	return cs, nil
}

// try runs call on a picked connection and then, for as long as it fails
// before reaching any server, on up to failovers other connections.
func (p *Pool) try(ctx context.Context, opts []grpc.CallOption, call func(*conn, []grpc.CallOption) error) error {
	conns, err := p.live()
	if err != nil {
		return err
	}
	c, _ := pick(conns, nil)
	if p.cfg.failovers == 0 {
		return p.closedErr(ctx, call(c, opts))
	}
	po := &peerOpts{}
	popts := po.with(opts)
	pr := &po.pr
	var buf [8]*conn
	tried := buf[:0]
	for attempt := 0; ; attempt++ {
		err = call(c, popts)
		if err == nil || attempt == p.cfg.failovers || !p.neverSent(ctx, err, pr) {
			return p.closedErr(ctx, err)
		}
		tried = append(tried, c)
		if c, _ = pick(*p.conns.Load(), tried); c == nil {
			return err
		}
	}
}

func newStreamOn(ctx context.Context, c *conn, desc *grpc.StreamDesc, method string, opts []grpc.CallOption) (grpc.ClientStream, error) {
	c.inflight.Add(1)
	cs, err := c.cc.NewStream(ctx, desc, method, opts...)
	if err != nil {
		c.inflight.Add(-1)
		return nil, err
	}
	return newCountedStream(ctx, cs, desc.ServerStreams, c), nil
}

// peerOpts holds, in one allocation, a grpc.Peer option's target and room
// for the call options it is added to.
type peerOpts struct {
	pr  peer.Peer
	buf [4]grpc.CallOption
}

// with returns opts plus a grpc.Peer option that tells whether the call was
// given a transport. It copies opts, never appending to the caller's array.
func (po *peerOpts) with(opts []grpc.CallOption) []grpc.CallOption {
	out := append(po.buf[:0], opts...)
	return append(out, grpc.Peer(&po.pr))
}

// neverSent reports whether a failed call can safely be tried on another
// connection: grpc fills the Peer option only once the call has a transport
// stream, so Unavailable with no peer means nothing left this process.
func (p *Pool) neverSent(ctx context.Context, err error, pr *peer.Peer) bool {
	return status.Code(err) == codes.Unavailable && pr.Addr == nil && ctx.Err() == nil && !p.closed.Load()
}

// closedErr turns grpc's "client connection is closing" into ErrClosed when
// the pool was closed under a call, so callers see one clear error.
func (p *Pool) closedErr(ctx context.Context, err error) error {
	if err != nil && p.closed.Load() && ctx.Err() == nil && status.Code(err) == codes.Canceled {
		return ErrClosed
	}
	return err
}

// Close closes every connection and stops scale-out. Calls under way end
// with ErrClosed; later calls get ErrClosed at once. Close is idempotent:
// after the first call it returns nil.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed.Load() {
		p.mu.Unlock()
		return nil
	}
	p.closed.Store(true)
	p.mu.Unlock()
	p.cancel()
	var errs []error
	for _, c := range *p.conns.Load() {
		if err := c.cc.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	p.wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("grpcpool: close: %w", errors.Join(errs...))
	}
	return nil
}
