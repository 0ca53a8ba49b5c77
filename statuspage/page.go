package statuspage

import (
	"cmp"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// ErrInvalidArgument is wrapped by every error New returns for a bad
// option, so callers can test for it with errors.Is.
var ErrInvalidArgument = errors.New("statuspage: invalid argument")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}

//go:embed assets
var assets embed.FS

// BalancerSource is what the page needs of a balancer;
// *loadbalancer.Balancer satisfies it.
type BalancerSource interface {
	Status() loadbalancer.Status
}

// PoolRow is one line of a pool table: a name (usually the host address)
// and named counts, shown as columns in the order first seen.
type PoolRow struct {
	Name   string           `json:"name"`
	Counts map[string]int64 `json:"counts"`
}

// Control is a number the page may change, such as a pool's maximum size or
// a herd's size.
type Control struct {
	// Get reads the current value.
	Get func() int
	// Set applies a new value, or returns why it cannot.
	Set func(int) error
	// Min and Max bound what the page accepts (inclusive).
	Min, Max int
}

// Option configures a Page.
type Option func(*Page) error

// WithBalancer shows a balancer under name. The name must be unique among
// the page's balancers, since the page keeps each one's history under it.
func WithBalancer(name string, b BalancerSource) Option {
	return func(p *Page) error {
		if nilarg.IsNil(b) {
			return invalid("nil balancer %q", name)
		}
		for _, nb := range p.balancers {
			if nb.name == name {
				return invalid("duplicate balancer %q", name)
			}
		}
		p.balancers = append(p.balancers, namedBalancer{name, b})
		return nil
	}
}

// WithPool shows a pool table under name; rows is called on every refresh.
func WithPool(name string, rows func() []PoolRow) Option {
	return func(p *Page) error {
		if rows == nil {
			return invalid("nil rows function for pool %q", name)
		}
		p.pools = append(p.pools, namedPool{name, rows})
		return nil
	}
}

// WithControl lets the page change a number. Without any control the page
// is read-only and refuses every change request.
func WithControl(name string, c Control) Option {
	return func(p *Page) error {
		if c.Get == nil || c.Set == nil {
			return invalid("control %q needs Get and Set", name)
		}
		if c.Min > c.Max {
			return invalid("control %q: min %d > max %d", name, c.Min, c.Max)
		}
		if _, dup := p.controls[name]; dup {
			return invalid("duplicate control %q", name)
		}
		p.controls[name] = c
		return nil
	}
}

// WithRetrier shows a retrier's counters (retries, calls ended by an
// exhausted retry budget, hedges) with the balancer of the same name, given
// by WithBalancer, and keeps their rates in the history. Each balancer takes
// at most one retrier.
func WithRetrier(balancer string, r RetrierSource) Option {
	return func(p *Page) error {
		if nilarg.IsNil(r) {
			return invalid("nil retrier for %q", balancer)
		}
		if _, dup := p.retriers[balancer]; dup {
			return invalid("second retrier for %q", balancer)
		}
		p.retriers[balancer] = r
		return nil
	}
}

// WithHistory sets how far back the server-side history reaches and the
// interval between its samples (DefaultHistoryWindow and
// DefaultHistoryResolution by default). The resolution must be at least
// 10ms and the window a whole number of at least two resolutions, of at
// most a day's worth at 1 s (86,400 samples); the memory the history takes
// per host is proportional to window/resolution (see the package doc).
func WithHistory(window, resolution time.Duration) Option {
	return func(p *Page) error {
		switch {
		case resolution < 10*time.Millisecond:
			return invalid("history resolution %v below 10ms", resolution)
		case window < 2*resolution || window%resolution != 0:
			return invalid("history window %v is not a multiple of at least 2 resolutions of %v", window, resolution)
		case window/resolution > maxHistorySamples:
			return invalid("history of %d samples, want at most %d", window/resolution, maxHistorySamples)
		}
		p.window, p.resolution = window, resolution
		return nil
	}
}

// WithTitle sets the page title.
func WithTitle(title string) Option {
	return func(p *Page) error {
		p.title = title
		return nil
	}
}

// Page is an http.Handler serving the live page at its root, the state as
// JSON at status.json, the history at history.json, and (with controls)
// changes at control. It samples its balancers in a goroutine of its own,
// which Close ends.
type Page struct {
	title      string
	window     time.Duration
	resolution time.Duration
	retriers   map[string]RetrierSource
	subsets    map[string]SubsetSource
	hist       *history
	balancers  []namedBalancer
	pools      []namedPool
	controls   map[string]Control
	mux        *http.ServeMux
	mu         sync.Mutex // serialises control changes
}

type namedBalancer struct {
	name string
	b    BalancerSource
}

type namedPool struct {
	name string
	rows func() []PoolRow
}

// New returns a page over the given sources. A nil or bad option is an
// error wrapping ErrInvalidArgument.
func New(opts ...Option) (*Page, error) {
	p := &Page{title: "lbkit status", controls: map[string]Control{}, retriers: map[string]RetrierSource{},
		subsets: map[string]SubsetSource{}, window: DefaultHistoryWindow, resolution: DefaultHistoryResolution}
	for _, o := range opts {
		if o == nil {
			return nil, invalid("nil option")
		}
		if err := o(p); err != nil {
			return nil, err
		}
	}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	p.hist = newHistory(p.window, p.resolution)
	for _, nb := range p.balancers {
		bh := p.hist.addBalancer(nb.name, nb.b)
		bh.retrier = p.retriers[nb.name]
		delete(p.retriers, nb.name)
		bh.subset = p.subsets[nb.name]
		delete(p.subsets, nb.name)
	}
	for name := range p.retriers {
		return nil, invalid("retrier for %q, which no WithBalancer names", name)
	}
	for name := range p.subsets {
		return nil, invalid("subset for %q, which no WithBalancer names", name)
	}
	p.mux = http.NewServeMux()
	p.mux.HandleFunc("GET /status.json", p.serveJSON)
	p.mux.HandleFunc("GET /history.json", p.serveHistory)
	p.mux.HandleFunc("POST /control", p.serveControl)
	p.mux.Handle("GET /", http.FileServerFS(static))
	if len(p.balancers) > 0 {
		p.hist.start()
	}
	return p, nil
}

// Close stops the history's sampling; the page goes on serving what it
// holds. It is idempotent and returns nil.
func (p *Page) Close() error {
	p.hist.close()
	return nil
}

// History returns the samples of the server-side history taken after
// since (all of them for a zero since), oldest first.
func (p *Page) History(since time.Time) History {
	var ms int64
	if !since.IsZero() {
		ms = since.UnixMilli()
	}
	return p.hist.snapshot(ms)
}

// serveHistory serves History as JSON; the query parameter since (unix
// milliseconds) asks for the samples after it only, which is how the page
// polls.
func (p *Page) serveHistory(w http.ResponseWriter, r *http.Request) {
	var since int64
	if q := r.URL.Query().Get("since"); q != "" {
		var err error
		if since, err = strconv.ParseInt(q, 10, 64); err != nil {
			http.Error(w, "bad since: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(p.hist.snapshot(since))
}

// ServeHTTP implements http.Handler. Mount it under a prefix with
// http.StripPrefix.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// Snapshot is the JSON document the page polls.
type Snapshot struct {
	Title string    `json:"title"`
	Time  time.Time `json:"time"`
	// IntervalMs is the history's resolution: the interval of every
	// per-interval figure (requests/s, error %, p50/p99, share).
	IntervalMs int64            `json:"intervalMs"`
	Balancers  []BalancerStatus `json:"balancers"`
	Pools      []PoolStatus     `json:"pools"`
	Controls   []ControlStatus  `json:"controls"`
}

// BalancerStatus is one balancer in a Snapshot: the page's JSON view of a
// loadbalancer.Status.
type BalancerStatus struct {
	Name         string `json:"name"`
	Strategy     string `json:"strategy"`
	Version      uint64 `json:"version"`
	DiscoveryErr string `json:"discoveryErr,omitempty"`
	// ErrorSince is when DiscoveryErr began.
	ErrorSince *time.Time `json:"errorSince,omitempty"`
	// Source names the discovery publisher (loadbalancer.Status.Source).
	Source string `json:"source"`
	// Instances counts the instances discovery reported: hosts and
	// factory failures.
	Instances int `json:"instances"`
	// LastUpdate is when discovery last published instances.
	LastUpdate *time.Time `json:"lastUpdate,omitempty"`
	// Retry is the retrier's counters, with WithRetrier.
	Retry *RetryStatus `json:"retry,omitempty"`
	// Subset is the deterministic subset the balancer balances over,
	// with WithSubset.
	Subset *SubsetStatus `json:"subset,omitempty"`
	// InvalidInstances describes the instances discovery offered that
	// failed validation and were left out.
	InvalidInstances string    `json:"invalidInstances,omitempty"`
	Hosts            []HostRow `json:"hosts"`
	// FactoryFailures lists the instances without a host row because
	// their factory call failed (loadbalancer.Status.FactoryFailures).
	FactoryFailures []FactoryFailureRow `json:"factoryFailures,omitempty"`
	// FactoryErrors counts failed factory calls since the balancer began.
	FactoryErrors uint64 `json:"factoryErrors"`
}

// FactoryFailureRow is the page's JSON view of one
// loadbalancer.FactoryFailure.
type FactoryFailureRow struct {
	Address string `json:"address"`
	Err     string `json:"err"`
}

// RetryStatus is the page's JSON view of a retry.Stats: counters since
// the retrier began, and the rates over the last interval.
type RetryStatus struct {
	Calls           uint64 `json:"calls"`
	Retries         uint64 `json:"retries"`
	BudgetExhausted uint64 `json:"budgetExhausted"`
	Hedges          uint64 `json:"hedges"`
	HedgeWins       uint64 `json:"hedgeWins"`
	HedgesCapped    uint64 `json:"hedgesCapped"`
	// The rates per second over the last interval (0 before the first).
	RetriesPerSec         float64 `json:"retriesPerSec"`
	BudgetExhaustedPerSec float64 `json:"budgetExhaustedPerSec"`
	HedgesPerSec          float64 `json:"hedgesPerSec"`
}

// HostRow is the page's JSON view of one strategy.HostStats: the fields the
// page shows, latencies in milliseconds for the browser, and the figures
// of the last interval of the history, which need the previous sample (and
// for Share the other hosts), so HostStats cannot carry them.
//
// The page has one definition of each figure, used by its table and its
// charts alike: Score is strategy.HostStats.Score, the balancer's own
// score of the host in [0,1]; Share is the host's part of the requests the
// balancer completed in the last interval.
type HostRow struct {
	Address   string  `json:"address"`
	Weight    int     `json:"weight"`
	InFlight  int64   `json:"inFlight"`
	Score     float64 `json:"score"`
	LatencyMs float64 `json:"latencyMs"`
	// Requests and Failures count since the host appeared.
	Requests uint64  `json:"requests"`
	Failures uint64  `json:"failures"`
	Share    float64 `json:"share"`
	// RequestsPerSec is the requests completed per second in the last
	// interval.
	RequestsPerSec float64 `json:"rps"`
	// ErrorPct, P50Ms and P99Ms are the last interval's failed percentage
	// and latency quantiles; nil if the host completed no request in it.
	ErrorPct *float64 `json:"errorPct,omitempty"`
	P50Ms    *float64 `json:"p50Ms,omitempty"`
	P99Ms    *float64 `json:"p99Ms,omitempty"`
	// State holds the fields of strategy.HostStats the page does not know
	// by name (such as an ejection or ramp-up state), by field name, for
	// the page to show as they are: booleans, numbers, strings, durations
	// (as strings) and non-zero times.
	State map[string]any `json:"state,omitempty"`
	// Load is what the host reported about its load, if it did.
	Load *LoadRow `json:"load,omitempty"`
}

// PoolStatus is one pool table in a Snapshot.
type PoolStatus struct {
	Name string    `json:"name"`
	Rows []PoolRow `json:"rows"`
}

// ControlStatus is one control in a Snapshot.
type ControlStatus struct {
	Name  string `json:"name"`
	Value int    `json:"value"`
	Min   int    `json:"min"`
	Max   int    `json:"max"`
}

// Snapshot reads every source now.
func (p *Page) Snapshot() Snapshot {
	s := Snapshot{Title: p.title, Time: time.Now(), IntervalMs: p.resolution.Milliseconds(),
		Balancers: []BalancerStatus{}, Pools: []PoolStatus{}, Controls: []ControlStatus{}}
	for i, nb := range p.balancers {
		st := nb.b.Status()
		bs := BalancerStatus{Name: nb.name, Strategy: st.Strategy, Version: st.Version, Hosts: p.hostRows(i, st.Hosts),
			Source: st.Source, Instances: len(st.Hosts) + len(st.FactoryFailures)}
		if st.InvalidInstances != nil {
			bs.InvalidInstances = st.InvalidInstances.Error()
		}
		if st.DiscoveryErr != nil {
			bs.DiscoveryErr = st.DiscoveryErr.Error()
			if !st.ErrorSince.IsZero() {
				bs.ErrorSince = &st.ErrorSince
			}
		}
		if !st.LastUpdate.IsZero() {
			bs.LastUpdate = &st.LastUpdate
		}
		if r := p.hist.bals[i].retrier; r != nil {
			bs.Retry = p.retryStatus(i, r.Stats())
		}
		if sub := p.hist.bals[i].subset; sub != nil {
			bs.Subset = subsetStatus(sub.Stats(), s.Time)
		}
		bs.FactoryErrors = st.FactoryErrors
		for _, f := range st.FactoryFailures {
			bs.FactoryFailures = append(bs.FactoryFailures, FactoryFailureRow{Address: f.Address, Err: f.Err.Error()})
		}
		s.Balancers = append(s.Balancers, bs)
	}
	for _, np := range p.pools {
		s.Pools = append(s.Pools, PoolStatus{Name: np.name, Rows: np.rows()})
	}
	for name, c := range p.controls {
		s.Controls = append(s.Controls, ControlStatus{Name: name, Value: c.Get(), Min: c.Min, Max: c.Max})
	}
	slices.SortFunc(s.Controls, func(a, b ControlStatus) int { return cmp.Compare(a.Name, b.Name) })
	return s
}

// hostRows builds the JSON view of the hosts of balancer i, with the
// figures of the history's last interval.
func (p *Page) hostRows(i int, hosts []strategy.HostStats) []HostRow {
	rows := make([]HostRow, len(hosts))
	for j, h := range hosts {
		last := p.hist.latest(i, h.Address)
		rows[j] = HostRow{
			Address: h.Address, Weight: h.Weight, InFlight: h.InFlight, Score: h.Score,
			LatencyMs: float64(h.Latency) / float64(time.Millisecond),
			Requests:  h.Requests, Failures: h.Failures,
			Share: orZero(last[seriesShare]), RequestsPerSec: orZero(last[seriesRPS]),
			ErrorPct: orNil(last[seriesErrPct]), P50Ms: orNil(last[seriesP50]), P99Ms: orNil(last[seriesP99]),
			State: hostState(&h),
			Load:  loadRow(h.Load),
		}
	}
	return rows
}

func (p *Page) retryStatus(i int, rs retry.Stats) *RetryStatus {
	last := p.hist.latestBalancer(i)
	return &RetryStatus{
		Calls: rs.Calls, Retries: rs.Retries, BudgetExhausted: rs.BudgetExhausted,
		Hedges: rs.Hedges, HedgeWins: rs.HedgeWins, HedgesCapped: rs.HedgesCapped,
		RetriesPerSec:         orZero(last[seriesRetries]),
		BudgetExhaustedPerSec: orZero(last[seriesBudgetExhausted]),
		HedgesPerSec:          orZero(last[seriesHedges]),
	}
}

func orZero(v float32) float64 {
	if v != v {
		return 0
	}
	return float64(v)
}

func orNil(v float32) *float64 {
	if v != v {
		return nil
	}
	f := float64(v)
	return &f
}

func (p *Page) serveJSON(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(p.Snapshot())
}

// controlRequest is the body of POST control.
type controlRequest struct {
	Name  string `json:"name"`
	Value int    `json:"value"`
}

func (p *Page) serveControl(w http.ResponseWriter, r *http.Request) {
	if len(p.controls) == 0 {
		http.Error(w, "this status page is read-only", http.StatusForbidden)
		return
	}
	var req controlRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10)).Decode(&req); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	c, ok := p.controls[req.Name]
	if !ok {
		http.Error(w, "no such control", http.StatusNotFound)
		return
	}
	if req.Value < c.Min || req.Value > c.Max {
		http.Error(w, fmt.Sprintf("value %d outside [%d, %d]", req.Value, c.Min, c.Max), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	err := c.Set(req.Value)
	p.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(ControlStatus{Name: req.Name, Value: c.Get(), Min: c.Min, Max: c.Max})
}

// Resizer is anything with a size that can change at runtime, such as a
// *herd.Herd.
type Resizer interface {
	Size() int
	Resize(n int) error
}

// SizeControl is a Control over a Resizer's size, between min and max: pass
// it to WithControl to let the page resize a worker herd. For a nil r it
// returns a Control without Get and Set, which WithControl refuses.
func SizeControl(r Resizer, min, max int) Control {
	if nilarg.IsNil(r) {
		return Control{Min: min, Max: max}
	}
	return Control{Get: r.Size, Set: r.Resize, Min: min, Max: max}
}
