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
	"sync"
	"time"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
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

// WithTitle sets the page title.
func WithTitle(title string) Option {
	return func(p *Page) error {
		p.title = title
		return nil
	}
}

// Page is an http.Handler serving the live page at its root, the state as
// JSON at status.json, and (with controls) changes at control.
type Page struct {
	title     string
	balancers []namedBalancer
	pools     []namedPool
	controls  map[string]Control
	mux       *http.ServeMux
	mu        sync.Mutex // serialises control changes
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
	p := &Page{title: "lbkit status", controls: map[string]Control{}}
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
	p.mux = http.NewServeMux()
	p.mux.HandleFunc("GET /status.json", p.serveJSON)
	p.mux.HandleFunc("POST /control", p.serveControl)
	p.mux.Handle("GET /", http.FileServerFS(static))
	return p, nil
}

// ServeHTTP implements http.Handler. Mount it under a prefix with
// http.StripPrefix.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// Snapshot is the JSON document the page polls.
type Snapshot struct {
	Title     string           `json:"title"`
	Time      time.Time        `json:"time"`
	Balancers []BalancerStatus `json:"balancers"`
	Pools     []PoolStatus     `json:"pools"`
	Controls  []ControlStatus  `json:"controls"`
}

// BalancerStatus is one balancer in a Snapshot: the page's JSON view of a
// loadbalancer.Status.
type BalancerStatus struct {
	Name         string `json:"name"`
	Strategy     string `json:"strategy"`
	Version      uint64 `json:"version"`
	DiscoveryErr string `json:"discoveryErr,omitempty"`
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

// HostRow is the page's JSON view of one strategy.HostStats: the fields the
// page shows, the latency in milliseconds for the browser, and Share, the
// host's share of all requests the balancer has completed since the host
// appeared (which needs the other hosts, so HostStats cannot carry it).
type HostRow struct {
	Address   string  `json:"address"`
	Weight    int     `json:"weight"`
	InFlight  int64   `json:"inFlight"`
	Score     float64 `json:"score"`
	LatencyMs float64 `json:"latencyMs"`
	Requests  uint64  `json:"requests"`
	Failures  uint64  `json:"failures"`
	Share     float64 `json:"share"`
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
	s := Snapshot{Title: p.title, Time: time.Now(), Balancers: []BalancerStatus{}, Pools: []PoolStatus{}, Controls: []ControlStatus{}}
	for _, nb := range p.balancers {
		st := nb.b.Status()
		bs := BalancerStatus{Name: nb.name, Strategy: st.Strategy, Version: st.Version, Hosts: hostRows(st.Hosts)}
		if st.InvalidInstances != nil {
			bs.InvalidInstances = st.InvalidInstances.Error()
		}
		if st.DiscoveryErr != nil {
			bs.DiscoveryErr = st.DiscoveryErr.Error()
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

// hostRows builds the JSON view of hosts, each with its share of their
// requests.
func hostRows(hosts []strategy.HostStats) []HostRow {
	var total uint64
	for _, h := range hosts {
		total += h.Requests
	}
	rows := make([]HostRow, len(hosts))
	for i, h := range hosts {
		rows[i] = HostRow{
			Address: h.Address, Weight: h.Weight, InFlight: h.InFlight, Score: h.Score,
			LatencyMs: float64(h.Latency) / float64(time.Millisecond),
			Requests:  h.Requests, Failures: h.Failures,
			Load: loadRow(h.Load),
		}
		if total > 0 {
			rows[i].Share = float64(h.Requests) / float64(total)
		}
	}
	return rows
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
