package strategy

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
)

// ErrNoHosts is what HostSet.Pick returns when the set is empty and Update
// gave no error of its own for that case.
var ErrNoHosts = errors.New("strategy: no hosts")

// Member is one host of a HostSet with the value its user keeps for it: an
// endpoint for the load balancer, a connection pool for pooling.Service.
type Member[T any] struct {
	Host  *Host
	Value T
}

// HostSet is lbkit's one host-set core: a set of hosts with their live
// statistics, the strategy's picker over them, and a pick that can skip the
// hosts a request has already tried. The load balancer picks endpoints with
// it, pooling.Service picks connection pools. It knows nothing of what its
// members carry.
//
// Update (or UpdateHosts) replaces the members and builds the picker once;
// Pick reads the current set with one atomic load, takes no lock and
// allocates nothing. Outcomes go back through the picked Host (Begin, then
// Record).
//
// Hosts of different priorities (Host.SetPriority) are failover tiers, and
// with a local zone (WithLocalZone) the hosts of a tier are grouped by
// zone (Host.SetZone): the strategy picks within a group, and the group is
// drawn by shares computed from the hosts' health as Envoy computes its
// priority load and zone-aware routing (see tier.go, Groups and
// docs/strategies.md). A set of one group picks exactly as without them.
type HostSet[T any] struct {
	strategy Strategy
	cfg      hostConfig
	cur      atomic.Pointer[hostView[T]]
	mu       sync.Mutex // serialises Update
}

// hostView is the immutable state Pick reads. The members are kept as two
// parallel slices, the hosts the picker needs and the values, so that an
// update allocates no third copy of them; Members puts them together on
// first call if Update was not given them that way.
type hostView[T any] struct {
	hosts   []*Host
	values  []T // values[i] is hosts[i]'s
	members atomic.Pointer[[]Member[T]]
	picker  Picker
	// The picker again when it is one of the two whose pick is a few
	// instructions, for Pick to call directly: the interface call would
	// cost a tenth of the load balancer's Endpoint.
	random *randomPicker
	rr     *roundRobinPicker
	groups *groupedPicker // nil: one group, picker is the strategy's own
	none   error
}

// NewHostSet returns an empty set that picks with s. The options configure
// the hosts it makes (NewHost): their decay windows, clock and scorer. A
// nil or invalid strategy or a bad option is an error wrapping
// ErrInvalidArgument.
func NewHostSet[T any](s Strategy, opts ...Option) (*HostSet[T], error) {
	if err := Validate(s); err != nil {
		return nil, err
	}
	cfg, err := newHostConfig(opts)
	if err != nil {
		return nil, err
	}
	cfg.tiers.fromEnv()
	set := &HostSet[T]{strategy: s, cfg: cfg}
	set.cur.Store(&hostView[T]{picker: s.NewPicker(nil), none: ErrNoHosts})
	return set, nil
}

// Strategy returns the set's strategy.
func (s *HostSet[T]) Strategy() Strategy { return s.strategy }

// NewHost returns a new host record configured by the set's options. It
// joins the set only through Update.
func (s *HostSet[T]) NewHost(address string, weight int) *Host {
	return s.cfg.newHost(address, weight)
}

// Update makes members the set, in their order, and builds the strategy's
// picker over them. none is the error Pick returns while the set is empty
// (nil means ErrNoHosts): the load balancer passes its discovery error
// there. The caller must not modify members afterwards. Updates are
// serialised; Pick sees either the old set or the new one.
func (s *HostSet[T]) Update(members []Member[T], none error) {
	hosts := make([]*Host, len(members))
	values := make([]T, len(members))
	for i, m := range members {
		hosts[i], values[i] = m.Host, m.Value
	}
	v := &hostView[T]{hosts: hosts, values: values}
	v.members.Store(&members)
	s.update(v, none)
}

// UpdateHosts is Update with the members given as two parallel slices:
// hosts[i] with values[i]. It saves the set a copy of them, which shows
// when a large set changes often (the load balancer's updates use it).
// The caller must not modify either slice afterwards. Slices of different
// lengths are an error wrapping ErrInvalidArgument, and leave the set as
// it was.
func (s *HostSet[T]) UpdateHosts(hosts []*Host, values []T, none error) error {
	if len(hosts) != len(values) {
		return invalid("%d hosts with %d values", len(hosts), len(values))
	}
	s.update(&hostView[T]{hosts: hosts, values: values}, none)
	return nil
}

// update completes v with its picker and makes it the set.
func (s *HostSet[T]) update(v *hostView[T], none error) {
	if none == nil {
		none = ErrNoHosts
	}
	v.none = none
	hosts := v.hosts
	s.mu.Lock()
	s.cfg.group.update(hosts)
	// Hosts of more than one priority tier or zone get a picker per group
	// (tier.go); the one group of a plain set gets the strategy's own.
	if v.groups = newGroupedPicker(s.strategy, hosts, &s.cfg); v.groups != nil {
		v.picker = v.groups
	} else {
		v.picker = s.strategy.NewPicker(hosts)
		v.random, _ = v.picker.(*randomPicker)
		v.rr, _ = v.picker.(*roundRobinPicker)
	}
	s.cur.Store(v)
	s.mu.Unlock()
}

// Members returns the current members. The slice is shared: do not modify
// it.
func (s *HostSet[T]) Members() []Member[T] {
	v := s.cur.Load()
	if m := v.members.Load(); m != nil {
		return *m
	}
	if len(v.hosts) == 0 {
		return nil
	}
	m := make([]Member[T], len(v.hosts))
	for i, h := range v.hosts {
		m[i] = Member[T]{Host: h, Value: v.values[i]}
	}
	if !v.members.CompareAndSwap(nil, &m) {
		return *v.members.Load()
	}
	return m
}

// Stats returns a snapshot of every member's statistics, in set order. It
// allocates; call it from status pages and tests, not per request.
func (s *HostSet[T]) Stats() []HostStats {
	v := s.cur.Load()
	out := make([]HostStats, len(v.hosts))
	for i, h := range v.hosts {
		out[i] = h.Stats()
	}
	return out
}

// Pick returns the member the strategy picks, steered away from the hosts
// whose addresses are in tried: if the strategy's choice was tried already,
// a few more picks are drawn, and then the set is scanned from a random
// point for a host not tried. Only when every host was tried does it return
// a tried one. It returns the set's none error when the set is empty. Pick
// does not keep or modify tried, takes no lock and allocates nothing. With
// WithOutlierEjection an ejected host is passed over like a tried one (a
// tried host is taken before it), and with WithSlowStart a ramping host's
// pick is kept with probability its share.
func (s *HostSet[T]) Pick(tried []string) (Member[T], error) {
	v := s.cur.Load()
	var i int
	switch {
	case v.random != nil:
		i = v.random.Pick()
	case v.rr != nil:
		i = v.rr.Pick()
	default:
		i = v.picker.Pick()
	}
	// One unsigned comparison covers both "no host" (-1) and the bounds
	// check the index would otherwise cost. The common case is kept small
	// enough to inline into the caller.
	if uint(i) < uint(len(v.hosts)) && len(tried) == 0 && v.hosts[i].hh.gate.Load() == 0 {
		return Member[T]{Host: v.hosts[i], Value: v.values[i]}, nil
	}
	return v.pickAvoiding(i, tried)
}

// pickAvoiding is the rest of Pick: an empty set, or a pick that must skip
// tried hosts.
func (v *hostView[T]) pickAvoiding(i int, tried []string) (Member[T], error) {
	if uint(i) >= uint(len(v.hosts)) {
		return Member[T]{}, v.none
	}
	if slices.Contains(tried, v.hosts[i].address) || !v.hosts[i].admit() {
		i = v.avoid(tried, i)
	}
	return Member[T]{Host: v.hosts[i], Value: v.values[i]}, nil
}

// avoid looks for a host not in tried, given the strategy's first choice.
func (v *hostView[T]) avoid(tried []string, first int) int {
	for range 3 {
		if j := v.picker.Pick(); j >= 0 && !slices.Contains(tried, v.hosts[j].address) && v.hosts[j].admit() {
			return j
		}
	}
	n := len(v.hosts)
	off := rand.IntN(n)
	for k := range n {
		j := off + k
		if j >= n {
			j -= n
		}
		if !slices.Contains(tried, v.hosts[j].address) && v.hosts[j].usable() {
			return j
		}
	}
	return v.usableOr(first)
}
