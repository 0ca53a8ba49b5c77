package orca

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultInterval is how often a Reporter measures the process and
// renews the report it sends: gRPC's weighted_round_robin recomputes its
// weights once a second too.
const DefaultInterval = time.Second

// Option configures a Reporter.
type Option func(*reporterConfig) error

type reporterConfig struct {
	interval time.Duration
	adjust   func(Load) Load
}

// WithInterval sets how often the Reporter measures the process and
// renews its report (DefaultInterval by default). RPS and EPS are averages
// over it. Zero or negative is an error.
func WithInterval(d time.Duration) Option {
	return func(c *reporterConfig) error {
		if d <= 0 {
			return invalid("interval %v: want a positive duration", d)
		}
		c.interval = d
		return nil
	}
}

// WithLoadFunc lets the application decide what is reported: f receives
// what the Reporter measured over the last interval (CPUUtilization, RPS,
// EPS) and returns the Load to report, for example with an
// ApplicationUtilization (which a weighted strategy prefers to the CPU's:
// a queue length over its bound, busy workers over all), a memory
// utilization or named metrics. It runs on the Reporter's goroutine once
// per interval. A nil f is an error.
func WithLoadFunc(f func(measured Load) Load) Option {
	return func(c *reporterConfig) error {
		if f == nil {
			return invalid("nil load func")
		}
		c.adjust = f
		return nil
	}
}

// Reporter is the server side: it measures the process (its CPU
// utilization, from the CPU time the operating system accounts to it, and
// the requests and errors its middlewares count) once per interval, and
// keeps the endpoint-load-metrics value that Handler, ServerAfter,
// ServerErrorEncoder and package orcagrpc's interceptors attach to every
// response. Attaching is an atomic load; formatting happens once per
// interval on the Reporter's goroutine. Close stops it.
//
// Before the first interval has passed there is nothing to report, and no
// header is sent.
type Reporter struct {
	cfg      reporterConfig
	requests atomic.Uint64
	errors   atomic.Uint64
	value    atomic.Pointer[[]string] // the header value, as http.Header holds it
	load     atomic.Pointer[Load]
	done     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

// NewReporter starts a Reporter. A bad option is an error wrapping
// ErrInvalidArgument.
func NewReporter(opts ...Option) (*Reporter, error) {
	cfg := reporterConfig{interval: DefaultInterval}
	for _, o := range opts {
		if o == nil {
			return nil, invalid("nil option")
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	r := &Reporter{cfg: cfg, done: make(chan struct{})}
	// The first interval starts now, not when the goroutine gets to run.
	start := baseline{wall: time.Now()}
	start.cpu, start.cpuErr = processCPU()
	r.wg.Add(1)
	go r.run(start)
	return r, nil
}

// Served counts one request served, and whether it failed: the RPS and
// EPS the Reporter reports. The middlewares of this package call it;
// call it yourself from a server they do not cover.
func (r *Reporter) Served(failed bool) {
	r.requests.Add(1)
	if failed {
		r.errors.Add(1)
	}
}

// Value returns the current endpoint-load-metrics value, or "" before the
// first interval has passed.
func (r *Reporter) Value() string {
	if v := r.value.Load(); v != nil {
		return (*v)[0]
	}
	return ""
}

// Load returns the current report, and false before the first interval
// has passed.
func (r *Reporter) Load() (Load, bool) {
	if l := r.load.Load(); l != nil {
		return *l, true
	}
	return Load{}, false
}

// Close stops the Reporter's goroutine: the report is no longer renewed
// (the middlewares go on sending the last one). It is idempotent and
// returns nil.
func (r *Reporter) Close() error {
	r.once.Do(func() {
		close(r.done)
		r.wg.Wait()
	})
	return nil
}

// baseline is the state of the process at the start of the first
// interval.
type baseline struct {
	wall   time.Time
	cpu    time.Duration
	cpuErr error
}

func (r *Reporter) run(start baseline) {
	defer r.wg.Done()
	t := time.NewTicker(r.cfg.interval)
	defer t.Stop()
	lastWall, lastCPU, cpuErr := start.wall, start.cpu, start.cpuErr
	var lastReq, lastErr uint64
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
		}
		now := time.Now()
		secs := now.Sub(lastWall).Seconds()
		if secs <= 0 {
			continue
		}
		var m Load
		if cpuErr == nil {
			cpu, err := processCPU()
			if err == nil {
				m.CPUUtilization = (cpu - lastCPU).Seconds() / (secs * float64(runtime.GOMAXPROCS(0)))
				lastCPU = cpu
			}
		}
		req, errs := r.requests.Load(), r.errors.Load()
		m.RPS = float64(req-lastReq) / secs
		m.EPS = float64(errs-lastErr) / secs
		lastWall, lastReq, lastErr = now, req, errs
		if r.cfg.adjust != nil {
			m = r.cfg.adjust(m)
		}
		r.publish(m)
	}
}

// publish makes m the report, if it formats; a Load the application made
// unformattable keeps the previous one.
func (r *Reporter) publish(m Load) {
	m.CPUUtilization = nonNegative(m.CPUUtilization)
	s, err := Format(m)
	if err != nil {
		return
	}
	v := []string{s}
	r.load.Store(&m)
	r.value.Store(&v)
}

func nonNegative(x float64) float64 {
	if x < 0 || math.IsNaN(x) {
		return 0
	}
	return x
}
