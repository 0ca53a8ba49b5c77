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
// Update replaces the members and builds the picker once; Pick reads the
// current set with one atomic load, takes no lock and allocates nothing.
// Outcomes go back through the picked Host (Begin, then Record).
type HostSet[T any] struct {
	strategy Strategy
	cfg      hostConfig
	cur      atomic.Pointer[hostView[T]]
	mu       sync.Mutex // serialises Update
}

// hostView is the immutable state Pick reads.
type hostView[T any] struct {
	members []Member[T]
	hosts   []*Host
	picker  Picker
	none    error
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
	if none == nil {
		none = ErrNoHosts
	}
	hosts := make([]*Host, len(members))
	for i, m := range members {
		hosts[i] = m.Host
	}
	s.mu.Lock()
	s.cfg.group.update(hosts)
	s.cur.Store(&hostView[T]{members: members, hosts: hosts, picker: s.strategy.NewPicker(hosts), none: none})
	s.mu.Unlock()
}

// Members returns the current members. The slice is shared: do not modify
// it.
func (s *HostSet[T]) Members() []Member[T] { return s.cur.Load().members }

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
	i := v.picker.Pick()
	// One unsigned comparison covers both "no host" (-1) and the bounds
	// check the index would otherwise cost. The common case is kept small
	// enough to inline into the caller.
	if uint(i) < uint(len(v.members)) && len(tried) == 0 && v.members[i].Host.hh.gate.Load() == 0 {
		return v.members[i], nil
	}
	return v.pickAvoiding(i, tried)
}

// pickAvoiding is the rest of Pick: an empty set, or a pick that must skip
// tried hosts.
func (v *hostView[T]) pickAvoiding(i int, tried []string) (Member[T], error) {
	if uint(i) >= uint(len(v.members)) {
		return Member[T]{}, v.none
	}
	if slices.Contains(tried, v.hosts[i].address) || !v.hosts[i].admit() {
		i = v.avoid(tried, i)
	}
	return v.members[i], nil
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
