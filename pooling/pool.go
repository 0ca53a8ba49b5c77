package pooling

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
)

// Pool keeps connections to one host. Get lends an idle connection, dials a
// new one while fewer than the maximum are open, or waits for one to come
// back; Put takes it back, or closes it when the driver says its error was
// fatal. Idle connections past their idle timeout or lifetime are closed,
// both when Get meets them and by a background sweep.
//
// All methods are safe for concurrent use. Get and Put of an idle connection
// allocate nothing and, in the common case, take no lock: they pass it
// through a lock-free lane of slots in front of the locked idle stack (see
// pool_lane.go).
//
// The request path (Get, Put) is in pool_get.go, the lane in pool_lane.go,
// the test-on-borrow window in pool_window.go; prespawning, the idle sweep,
// resizing and closing are in pool_lifecycle.go.
type Pool[C any] struct {
	// Whether Get and Put read the clock: only idle timeouts,
	// lifetimes and the conns.active.period metric need it. The default
	// settings do not, for the clock can cost as much as the rest of a Get
	// and Put.
	timed bool
	// Whether the test on borrow is skipped for connections lent within
	// the window (see pool_window.go).
	windowed bool
	addr     string
	driver   Driver[C]
	cfg      poolConfig
	m        Metrics

	// hold counts the reasons a Put must not park a connection in the
	// lane: waiting Gets, the pool being over its maximum, and Close (see
	// pool_lane.go). It is written under mu and read without it.
	hold atomic.Int32

	mu       sync.Mutex
	idle     []*entry[C] // a stack: the most recently returned on top
	all      []*entry[C] // the open connections, for Stats
	waiters  []*waiter[C]
	total    int // open connections plus dials under way
	dialling int
	max      int
	over     bool // total > max, after SetMaxConns lowered max
	closed   bool
	closing  bool          // Close is waiting for borrowed connections
	drained  chan struct{} // closed when total reaches 0 after Close
	forced   bool
	force    chan struct{}
	c        counters
	window   window

	// lane holds idle connections outside the lock (pool_lane.go).
	lane [laneSlots]laneSlot[C]

	dialled      atomic.Uint64
	dialFailures atomic.Uint64
	closeErrors  atomic.Uint64
	waitNanos    atomic.Int64

	// http is the pool's own http.Transport, made by a RequestTransport
	// on first use, whose idle connections are closed when the pool is.
	http atomic.Pointer[http.Transport]

	bg     context.Context // ends on Close: stops background work
	stopBg context.CancelFunc
	wg     sync.WaitGroup
	done   chan struct{} // closed when Close has returned
}

// counters are guarded by Pool.mu. Gets and puts are not counted here but
// in the entries' states (see Stats): lends is the sum of the generations
// of the entries closed, unlent the lends taken back when a connection
// failed its test on borrow or a waiter gave up.
type counters struct {
	lends, unlent, getFailures, waits                       uint64
	closedIdle, closedLife, closedFatal, closedBad, closedX uint64
}

// entry is one open connection. It lives as long as the connection, and
// every Conn lent from it carries its generation, so that a stale Conn is
// refused.
//
// state is the generation (the number of times the entry was lent) shifted
// left by one, plus one while it is lent. It changes only atomically: Put
// validates a Conn and takes its entry back with one compare-and-swap. The
// other fields belong to whoever holds the entry: the borrower, or Pool.mu
// while it is on the idle stack, or the goroutine that took it from a lane
// slot; the handover (the lock, the slot's atomic swap, or the state's
// compare-and-swap) orders their writes. The times are readings of now.
type entry[C any] struct {
	pool     *Pool[C]
	conn     C
	state    atomic.Uint64
	created  int64  // at dial
	returned int64  // when last put back, if the pool reads the clock
	lent     int64  // when last lent, if the pool reads the clock
	period   uint32 // the test-on-borrow window's period when last lent
	idx      int32  // in Pool.all
	slot     uint8  // the lane slot a Put tries first
	borrow   borrow // set by a Service while lent
	// Two goroutines lending two entries must not write to one cache
	// line: without this, entries dialled one after the other share one.
	_ [64]byte
}

// lentBit is set in entry.state while the entry is lent; one lend adds
// lendStep to a state without it.
const (
	lentBit  = 1
	lendStep = 3 // the generation up by one, and lentBit
)

// epoch anchors the pools' clock.
var epoch = time.Now()

// now is the pools' clock: nanoseconds since the package was loaded. Since
// epoch carries a monotonic reading, time.Since reads the monotonic clock
// alone, the cheapest clock there is.
func now() int64 { return int64(time.Since(epoch)) }

// seconds converts nanoseconds to the seconds metrics observe.
func seconds(ns int64) float64 { return float64(ns) / float64(time.Second) }

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
func NewPool[C any](addr string, driver Driver[C], opts ...PoolOption) (*Pool[C], error) {
	cfg, err := newPoolConfig(opts)
	if err != nil {
		return nil, err
	}
	return newPool(addr, driver, cfg)
}

func checkDriver[C any](driver Driver[C]) error {
	if nilarg.IsNil(driver) {
		return invalid("nil driver")
	}
	if f, ok := driver.(DriverFuncs[C]); ok && f.DialFunc == nil {
		return errNilDial
	}
	return nil
}

func newPool[C any](addr string, driver Driver[C], cfg poolConfig) (*Pool[C], error) {
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
		max:    cfg.maxConns,
		force:  make(chan struct{}),
		done:   make(chan struct{}),
	}
	p.m = cfg.metrics.forHost(addr)
	p.timed = cfg.idleTimeout > 0 || cfg.maxLifetime > 0 || p.m.ConnsActivePeriod != nil
	p.windowed = cfg.testOnBorrow && cfg.testAfter > 0
	p.window.period.Store(1) // so that a connection never lent is tested
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

// Address returns the host address the pool dials.
func (p *Pool[C]) Address() string { return p.addr }

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
	if p.over {
		p.checkOverLocked()
	}
	if p.closed && p.total == 0 && p.drained != nil {
		close(p.drained)
		p.drained = nil
	}
}

// dropEntryLocked gives up e's slot (see dropLocked); the caller closes it.
func (p *Pool[C]) dropEntryLocked(e *entry[C], why closeReason) {
	p.retireLocked(e)
	p.dropLocked(why)
}

// registerLocked counts a new connection in Pool.all.
func (p *Pool[C]) registerLocked(e *entry[C]) {
	e.idx = int32(len(p.all))
	p.all = append(p.all, e)
}

// retireLocked takes e, about to be closed, out of Pool.all, keeping its
// lends in the counters.
func (p *Pool[C]) retireLocked(e *entry[C]) {
	p.c.lends += e.state.Load() >> 1
	i, n := e.idx, len(p.all)-1
	last := p.all[n]
	p.all[i], last.idx = last, i
	p.all[n] = nil
	p.all = p.all[:n]
}

// checkOverLocked records in hold whether the pool is over its maximum,
// when Puts must take the locked path, which closes the connection.
func (p *Pool[C]) checkOverLocked() {
	if over := p.total > p.max; over != p.over {
		p.over = over
		if over {
			p.hold.Add(holdOver)
		} else {
			p.hold.Add(-holdOver)
		}
	}
}

// expired says whether an idle e must be closed at t.
func (p *Pool[C]) expired(e *entry[C], t int64) closeReason {
	if l := p.cfg.maxLifetime; l > 0 && t-e.created >= int64(l) {
		return lifeExpired
	}
	if d := p.cfg.idleTimeout; d > 0 && t-e.returned >= int64(d) {
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

// Stats returns the pool's counts. Each count is exact, but a Get or Put
// running meanwhile may be seen half done: its connection counted as
// neither idle nor in use.
func (p *Pool[C]) Stats() Stats {
	p.mu.Lock()
	// Each lend adds one to an entry's generation; the lends that were
	// not taken back are Gets, and those of them not out now were Put.
	gens, inUse := p.c.lends, 0
	for _, e := range p.all {
		st := e.state.Load()
		gens += st >> 1
		inUse += int(st & lentBit)
	}
	gets := gens - p.c.unlent
	s := Stats{
		Address:          p.addr,
		MaxConns:         p.max,
		Open:             p.total - p.dialling,
		Idle:             len(p.idle) + p.laneLen(),
		InUse:            inUse,
		Dialling:         p.dialling,
		Waiting:          len(p.waiters),
		Gets:             gets,
		GetFailures:      p.c.getFailures,
		Puts:             gets - uint64(inUse),
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
