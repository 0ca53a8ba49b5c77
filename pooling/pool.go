package pooling

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// Pool keeps connections to one host. Get lends an idle connection, dials a
// new one while fewer than the maximum are open, or waits for one to come
// back; Put takes it back, or closes it when the driver says its error was
// fatal. Idle connections past their idle timeout or lifetime are closed,
// both when Get meets them and by a background sweep.
//
// All methods are safe for concurrent use. Get and Put of an idle connection
// allocate nothing and hold the pool's lock only to pop and push.
type Pool[C any] struct {
	addr   string
	driver Driver[C]
	cfg    config
	clock  strategy.Clock
	m      Metrics
	timed  bool // whether Get and Put need the clock at all

	mu       sync.Mutex
	idle     []*entry[C] // a stack: the most recently returned on top
	waiters  []*waiter[C]
	total    int // open connections plus dials under way
	inUse    int
	dialling int
	max      int
	closed   bool
	closing  bool          // Close is waiting for borrowed connections
	drained  chan struct{} // closed when total reaches 0 after Close
	forced   bool
	force    chan struct{}
	c        counters

	dialled      atomic.Uint64
	dialFailures atomic.Uint64
	closeErrors  atomic.Uint64
	waitNanos    atomic.Int64

	bg     context.Context // ends on Close: stops background work
	stopBg context.CancelFunc
	wg     sync.WaitGroup
	done   chan struct{} // closed when Close has returned
}

// counters are guarded by Pool.mu.
type counters struct {
	gets, getFailures, puts, waits                          uint64
	closedIdle, closedLife, closedFatal, closedBad, closedX uint64
}

// entry is one open connection. It lives as long as the connection, and
// every Conn lent from it carries its generation, so that a stale Conn is
// refused.
type entry[C any] struct {
	pool     *Pool[C]
	conn     C
	created  int64 // clock at dial
	returned int64 // clock when last put back
	lent     int64 // clock when last lent
	gen      uint32
	out      bool
}

// grant is what a waiting Get receives: a connection, the right to dial one
// (e == nil, err == nil), or an error.
type grant[C any] struct {
	e   *entry[C]
	err error
}

type waiter[C any] struct{ ch chan grant[C] }

// why a connection is closed, for Stats.
type closeReason uint8

const (
	keep closeReason = iota
	idleExpired
	lifeExpired
	fatalError
	failedTest
	overMax
	poolClosed
)

// NewPool returns a pool of connections to addr made by driver. Unless
// WithPrespawn(0) is given it starts dialling DefaultPrespawn connections in
// the background. Close it when done.
func NewPool[C any](addr string, driver Driver[C], opts ...Option) (*Pool[C], error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return newPool(addr, driver, cfg)
}

func checkDriver[C any](driver Driver[C]) error {
	if driver == nil {
		return invalid("nil driver")
	}
	if f, ok := driver.(DriverFuncs[C]); ok && f.DialFunc == nil {
		return errNilDial
	}
	return nil
}

func newPool[C any](addr string, driver Driver[C], cfg config) (*Pool[C], error) {
	if addr == "" {
		return nil, invalid("empty address")
	}
	if err := checkDriver(driver); err != nil {
		return nil, err
	}
	p := &Pool[C]{
		addr:   addr,
		driver: driver,
		cfg:    cfg,
		clock:  cfg.clock,
		max:    cfg.maxConns,
		force:  make(chan struct{}),
		done:   make(chan struct{}),
	}
	if cfg.metrics != nil {
		p.m = *cfg.metrics
	}
	p.timed = cfg.idleTimeout > 0 || cfg.maxLifetime > 0 ||
		(cfg.testOnBorrow && cfg.testAfter > 0) || p.m.ConnsActivePeriod != nil
	p.bg, p.stopBg = context.WithCancel(context.Background())
	if every := sweepInterval(cfg.idleTimeout, cfg.maxLifetime); every > 0 {
		p.wg.Add(1)
		go p.sweep(every)
	}
	if cfg.prespawn > 0 {
		p.New(cfg.prespawn)
	}
	return p, nil
}

// sweepInterval is how often idle connections are checked for expiry: half
// the shorter of the two limits, so none outlives its limit by more than
// half, within sane bounds. Zero means no sweep is needed.
func sweepInterval(idle, life time.Duration) time.Duration {
	d := idle
	if d == 0 || (life > 0 && life < d) {
		d = life
	}
	if d == 0 {
		return 0
	}
	return min(max(d/2, time.Millisecond), 30*time.Second)
}

// Address returns the host address the pool dials.
func (p *Pool[C]) Address() string { return p.addr }

// Get lends a connection: an idle one if there is one (tested first, see
// WithTestOnBorrow), else a new one while fewer than the maximum are open,
// else the next one given back. It waits up to the wait timeout
// (WithWaitTimeout) or until ctx ends, whichever comes first, returning
// ErrTimeout or an error wrapping ctx's. A failed dial is retried
// (WithConnRetries) before Get returns its error. After Close it returns
// ErrClosed.
func (p *Pool[C]) Get(ctx context.Context) (Conn[C], error) {
	if p.m.ConnsGetCount == nil && p.m.ConnsGetDelay == nil && p.m.ConnsGetFails == nil {
		return p.get(ctx)
	}
	var start int64
	if p.m.ConnsGetDelay != nil {
		start = p.clock()
	}
	c, err := p.get(ctx)
	p.m.observeGet(p.clock, start, err)
	return c, err
}

func (p *Pool[C]) get(ctx context.Context) (Conn[C], error) {
	if ctx == nil {
		return Conn[C]{}, invalid("nil context")
	}
	if err := ctx.Err(); err != nil {
		return Conn[C]{}, p.failGet(fmt.Errorf("pooling: get %s: %w", p.addr, context.Cause(ctx)))
	}
	p.mu.Lock()
	for !p.closed && len(p.idle) > 0 {
		n := len(p.idle) - 1
		e := p.idle[n]
		p.idle[n] = nil
		p.idle = p.idle[:n]
		var now int64
		if p.timed {
			now = p.clock()
		}
		if why := p.expired(e, now); why != keep {
			p.dropLocked(why)
			p.mu.Unlock()
			p.closeConn(e)
			p.mu.Lock()
			continue
		}
		test := p.cfg.testOnBorrow && (p.cfg.testAfter == 0 || now-e.returned >= int64(p.cfg.testAfter))
		p.lendLocked(e, now)
		p.mu.Unlock()
		if test {
			if err := p.driver.TestOnBorrow(e.conn); err != nil {
				p.mu.Lock()
				e.out = false
				p.inUse--
				p.c.gets--
				p.dropLocked(failedTest)
				p.mu.Unlock()
				p.closeConn(e)
				p.mu.Lock()
				continue
			}
		}
		return Conn[C]{e: e, gen: e.gen}, nil
	}
	if p.closed {
		p.c.getFailures++
		p.mu.Unlock()
		return Conn[C]{}, ErrClosed
	}
	return p.getSlow(ctx)
}

// getSlow dials or waits. It is called with p.mu held and releases it.
func (p *Pool[C]) getSlow(ctx context.Context) (Conn[C], error) {
	wctx := ctx
	if p.cfg.waitTimeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeoutCause(ctx, p.cfg.waitTimeout, ErrTimeout)
		defer cancel()
	}
	if p.total < p.max {
		p.total++
		p.dialling++
		p.mu.Unlock()
		return p.dialFor(wctx)
	}
	w := &waiter[C]{ch: make(chan grant[C], 1)}
	p.waiters = append(p.waiters, w)
	p.c.waits++
	p.mu.Unlock()

	start := p.clock()
	var g grant[C]
	select {
	case g = <-w.ch:
		p.waitNanos.Add(p.clock() - start)
	case <-wctx.Done():
		p.waitNanos.Add(p.clock() - start)
		p.mu.Lock()
		if p.removeWaiter(w) {
			p.c.getFailures++
			p.mu.Unlock()
			return Conn[C]{}, p.waitErr(wctx)
		}
		// Granted while we gave up: hand the grant on.
		g = <-w.ch
		switch {
		case g.e != nil:
			g.e.out = false
			p.inUse--
			p.c.gets--
			p.returnLocked(g.e, g.e.returned)
		case g.err == nil:
			p.dialling--
			p.dropLocked(keep)
		}
		p.c.getFailures++
		p.mu.Unlock()
		if g.err != nil {
			return Conn[C]{}, g.err
		}
		return Conn[C]{}, p.waitErr(wctx)
	}
	switch {
	case g.err != nil:
		return Conn[C]{}, p.failGet(g.err)
	case g.e == nil:
		return p.dialFor(wctx)
	}
	return Conn[C]{e: g.e, gen: g.e.gen}, nil
}

func (p *Pool[C]) waitErr(ctx context.Context) error {
	cause := context.Cause(ctx)
	if cause == ErrTimeout {
		return fmt.Errorf("pooling: get %s: %w after %v", p.addr, ErrTimeout, p.cfg.waitTimeout)
	}
	return fmt.Errorf("pooling: get %s: %w", p.addr, cause)
}

func (p *Pool[C]) failGet(err error) error {
	p.mu.Lock()
	p.c.getFailures++
	p.mu.Unlock()
	return err
}

// dialFor dials on a slot already reserved (total and dialling counted) and
// lends the result.
func (p *Pool[C]) dialFor(ctx context.Context) (Conn[C], error) {
	e, err := p.dial(ctx)
	p.mu.Lock()
	p.dialling--
	if err != nil {
		p.c.getFailures++
		p.dropLocked(keep)
		p.mu.Unlock()
		return Conn[C]{}, err
	}
	if p.closed {
		p.c.getFailures++
		p.dropLocked(poolClosed)
		p.mu.Unlock()
		p.closeConn(e)
		return Conn[C]{}, ErrClosed
	}
	p.lendLocked(e, e.created)
	p.mu.Unlock()
	return Conn[C]{e: e, gen: e.gen}, nil
}

// dial makes a connection, retrying as configured. Close cancels it.
func (p *Pool[C]) dial(ctx context.Context) (*entry[C], error) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(p.bg, func() { cancel(ErrClosed) })
	defer func() {
		stop()
		cancel(nil)
	}()
	var err error
	for attempt := 0; ; attempt++ {
		var conn C
		conn, err = p.driver.Dial(ctx, p.addr)
		if err == nil {
			p.dialled.Add(1)
			if p.m.ConnsCount != nil {
				p.m.ConnsCount.Add(1)
			}
			now := p.clock()
			return &entry[C]{pool: p, conn: conn, created: now, returned: now}, nil
		}
		p.dialFailures.Add(1)
		if p.m.ConnsFails != nil {
			p.m.ConnsFails.Add(1)
		}
		if attempt >= p.cfg.connRetries || ctx.Err() != nil || !sleep(ctx, p.cfg.retryDelay) {
			break
		}
	}
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		if cause == ErrTimeout {
			return nil, fmt.Errorf("pooling: dial %s: %w after %v: %w", p.addr, ErrTimeout, p.cfg.waitTimeout, err)
		}
		return nil, fmt.Errorf("pooling: dial %s: %w: %w", p.addr, cause, err)
	}
	return nil, fmt.Errorf("pooling: dial %s: %w", p.addr, err)
}

// sleep waits d or until ctx ends, reporting whether the whole d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Put gives back a connection lent by this pool. A nil err, or one the
// driver calls temporary, keeps it for reuse; a fatal one closes it. It
// returns ErrNotBorrowed for a Conn this pool has not lent, or has taken
// back already.
func (p *Pool[C]) Put(c Conn[C], err error) error {
	if c.e == nil || c.e.pool != p {
		return ErrNotBorrowed
	}
	return c.giveBack(err, outcomeScore(err), false)
}

// put takes a connection back, reporting whether err was fatal for it.
func (p *Pool[C]) put(c Conn[C], err error, discard bool) (fatal bool, _ error) {
	e := c.e
	fatal = err != nil && !p.driver.Temporary(err)
	var now int64
	if p.timed {
		now = p.clock()
	}
	p.mu.Lock()
	if !e.out || e.gen != c.gen {
		p.mu.Unlock()
		return false, ErrNotBorrowed
	}
	e.out = false
	p.inUse--
	p.c.puts++
	why := keep
	switch {
	case p.closed:
		why = poolClosed
	case fatal:
		why = fatalError
	case discard:
		why = poolClosed // asked for, not a pool event: counted nowhere
	case p.total > p.max:
		why = overMax
	default:
		why = p.expired(e, now)
	}
	if why != keep {
		p.dropLocked(why)
	} else {
		p.returnLocked(e, now)
	}
	p.mu.Unlock()
	if p.m.ConnsPutCount != nil {
		p.m.ConnsPutCount.Add(1)
	}
	if err != nil && p.m.ConnsFails != nil {
		p.m.ConnsFails.Add(1)
	}
	if p.m.ConnsActivePeriod != nil {
		p.m.ConnsActivePeriod.Observe(float64(now-e.lent) / float64(time.Second))
	}
	if why != keep {
		p.closeConn(e)
	}
	return fatal, nil
}

// lendLocked marks e borrowed.
func (p *Pool[C]) lendLocked(e *entry[C], now int64) {
	e.gen++
	e.out = true
	e.lent = now
	p.inUse++
	p.c.gets++
}

// returnLocked makes e available: to the first waiter, else to the idle
// stack.
func (p *Pool[C]) returnLocked(e *entry[C], now int64) {
	e.returned = now
	if len(p.waiters) > 0 {
		w := p.popWaiter()
		p.lendLocked(e, now)
		w.ch <- grant[C]{e: e}
		return
	}
	p.idle = append(p.idle, e)
}

// dropLocked gives up one slot: a connection being closed (counted under
// why), or a dial that failed or was not used. The slot passes to the first
// waiter, who dials, unless the pool is over its maximum.
func (p *Pool[C]) dropLocked(why closeReason) {
	switch why {
	case idleExpired:
		p.c.closedIdle++
	case lifeExpired:
		p.c.closedLife++
	case fatalError:
		p.c.closedFatal++
	case failedTest:
		p.c.closedBad++
	case overMax:
		p.c.closedX++
	}
	if !p.closed && p.total <= p.max && len(p.waiters) > 0 {
		w := p.popWaiter()
		p.dialling++
		w.ch <- grant[C]{}
		return
	}
	p.total--
	if p.closed && p.total == 0 && p.drained != nil {
		close(p.drained)
		p.drained = nil
	}
}

func (p *Pool[C]) popWaiter() *waiter[C] {
	w := p.waiters[0]
	p.waiters[0] = nil
	p.waiters = p.waiters[1:]
	if len(p.waiters) == 0 {
		p.waiters = nil // let the backing array go
	}
	return w
}

func (p *Pool[C]) removeWaiter(w *waiter[C]) bool {
	for i, x := range p.waiters {
		if x == w {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			return true
		}
	}
	return false
}

// expired says whether an idle e must be closed at now.
func (p *Pool[C]) expired(e *entry[C], now int64) closeReason {
	if l := p.cfg.maxLifetime; l > 0 && now-e.created >= int64(l) {
		return lifeExpired
	}
	if t := p.cfg.idleTimeout; t > 0 && now-e.returned >= int64(t) {
		return idleExpired
	}
	return keep
}

func (p *Pool[C]) closeConn(e *entry[C]) {
	if err := p.driver.Close(e.conn); err != nil {
		p.closeErrors.Add(1)
	}
	if p.m.ConnsCount != nil {
		p.m.ConnsCount.Add(-1)
	}
}

// sweep closes expired idle connections until Close.
func (p *Pool[C]) sweep(every time.Duration) {
	defer p.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.bg.Done():
			return
		case <-t.C:
			p.sweepOnce()
		}
	}
}

func (p *Pool[C]) sweepOnce() {
	now := p.clock()
	var dead []*entry[C]
	p.mu.Lock()
	kept := p.idle[:0]
	for _, e := range p.idle {
		if why := p.expired(e, now); why != keep {
			dead = append(dead, e)
			p.dropLocked(why)
			continue
		}
		kept = append(kept, e)
	}
	clear(p.idle[len(kept):])
	p.idle = kept
	p.mu.Unlock()
	for _, e := range dead {
		p.closeConn(e)
	}
}

// New dials up to n more connections in the background and keeps them idle
// (pooly's prespawn), never going past the maximum. It returns at once; a
// failed dial ends the batch.
func (p *Pool[C]) New(n int) error {
	if n < 0 {
		return invalid("negative connection count %d", n)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	n = min(n, p.max-p.total)
	if n <= 0 {
		return nil
	}
	p.total += n
	p.dialling += n
	p.wg.Add(1)
	go p.spawn(n)
	return nil
}

func (p *Pool[C]) spawn(n int) {
	defer p.wg.Done()
	for i := range n {
		e, err := p.dial(p.bg)
		p.mu.Lock()
		p.dialling--
		switch {
		case err != nil:
			// The host is not answering: give back this slot and
			// the rest rather than hammer it.
			p.dropLocked(keep)
			for range n - i - 1 {
				p.dialling--
				p.dropLocked(keep)
			}
			p.mu.Unlock()
			return
		case p.closed:
			p.dropLocked(poolClosed)
			p.mu.Unlock()
			p.closeConn(e)
		default:
			p.returnLocked(e, e.created)
			p.mu.Unlock()
		}
	}
}

// SetMaxConns changes the maximum number of connections. Lowering it closes
// idle connections over the new maximum at once and borrowed ones as they
// come back; raising it lets waiting Gets dial.
func (p *Pool[C]) SetMaxConns(n int) error {
	if n < 1 {
		return invalid("max connections %d, want at least 1", n)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.max = n
	var dead []*entry[C]
	for p.total > p.max && len(p.idle) > 0 {
		// The least recently used go first.
		e := p.idle[0]
		p.idle[0] = nil
		p.idle = p.idle[1:]
		dead = append(dead, e)
		p.dropLocked(overMax)
	}
	for p.total < p.max && len(p.waiters) > 0 {
		p.total++
		p.dropLocked(keep) // hands the new slot to a waiter
	}
	p.mu.Unlock()
	for _, e := range dead {
		p.closeConn(e)
	}
	return nil
}

// Close closes the pool: Get fails with ErrClosed from now on, waiting Gets
// are woken with it, idle connections are closed, and borrowed ones are
// closed as they come back. Close waits for them up to the close deadline
// (WithCloseDeadline) or until ForceClose; if some are still out then, it
// returns an error wrapping ErrStillBorrowed. Close is idempotent: later
// calls wait for the first to finish and return nil.
func (p *Pool[C]) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.done
		return nil
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.total -= len(idle)
	for _, w := range p.waiters {
		w.ch <- grant[C]{err: ErrClosed}
	}
	p.waiters = nil
	var drained chan struct{}
	if p.total > 0 {
		drained = make(chan struct{})
		p.drained = drained
		p.closing = true
	}
	p.mu.Unlock()

	p.stopBg()
	for _, e := range idle {
		p.closeConn(e)
	}
	var err error
	if drained != nil {
		t := time.NewTimer(p.cfg.closeDeadline)
		select {
		case <-drained:
		case <-t.C:
		case <-p.force:
		}
		t.Stop()
		p.mu.Lock()
		p.closing = false
		if p.total > 0 {
			err = fmt.Errorf("pooling: close %s: %w: %d", p.addr, ErrStillBorrowed, p.total)
		}
		p.mu.Unlock()
	}
	p.wg.Wait()
	close(p.done)
	return err
}

// ForceClose ends the wait of a Close in progress, which then returns at
// once. It reports whether it interrupted one. Connections still borrowed
// are closed when they come back.
func (p *Pool[C]) ForceClose() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closing || p.forced {
		return false
	}
	p.forced = true
	close(p.force)
	return true
}

// Stats is a point-in-time view of a pool. Counts are since the pool was
// made.
type Stats struct {
	// Address is the pool's host.
	Address string
	// MaxConns is the current maximum number of connections.
	MaxConns int
	// Open is the number of connections open now, Idle plus InUse.
	Open int
	// Idle and InUse split Open into available and borrowed connections.
	Idle, InUse int
	// Dialling is the number of dials under way.
	Dialling int
	// Waiting is the number of Gets waiting for a connection now.
	Waiting int
	// Dialled counts connections made; DialFailures counts failed dial
	// attempts, retries included.
	Dialled, DialFailures uint64
	// Gets counts connections lent; GetFailures counts Gets that returned
	// an error.
	Gets, GetFailures uint64
	// Puts counts connections given back.
	Puts uint64
	// Waits counts Gets that had to wait for a connection to come back, and
	// WaitTime is the total time they waited.
	Waits    uint64
	WaitTime time.Duration
	// Connections closed, by reason: idle for longer than the idle timeout,
	// older than the max lifetime, given back with a fatal error, failing
	// the test on borrow, and over the maximum after SetMaxConns lowered it.
	ClosedIdle, ClosedLifetime, ClosedFatal, ClosedTestFailed, ClosedOverMax uint64
	// CloseErrors counts errors from Driver.Close.
	CloseErrors uint64
	// Closed reports whether Close has been called.
	Closed bool
}

// Stats returns the pool's counts.
func (p *Pool[C]) Stats() Stats {
	p.mu.Lock()
	s := Stats{
		Address:          p.addr,
		MaxConns:         p.max,
		Open:             p.total - p.dialling,
		Idle:             len(p.idle),
		InUse:            p.inUse,
		Dialling:         p.dialling,
		Waiting:          len(p.waiters),
		Gets:             p.c.gets,
		GetFailures:      p.c.getFailures,
		Puts:             p.c.puts,
		Waits:            p.c.waits,
		ClosedIdle:       p.c.closedIdle,
		ClosedLifetime:   p.c.closedLife,
		ClosedFatal:      p.c.closedFatal,
		ClosedTestFailed: p.c.closedBad,
		ClosedOverMax:    p.c.closedX,
		Closed:           p.closed,
	}
	p.mu.Unlock()
	s.Dialled = p.dialled.Load()
	s.DialFailures = p.dialFailures.Load()
	s.CloseErrors = p.closeErrors.Load()
	s.WaitTime = time.Duration(p.waitNanos.Load())
	return s
}
