package strategy

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the failover tiers and zone-aware routing (see HostSet).
const (
	// DefaultOverprovisioning is Envoy's default overprovisioning factor:
	// a tier whose healthy share of hosts times this is at least 1 is
	// fully healthy and takes all the traffic it is offered, so tier 0
	// keeps all of it until fewer than 1/1.4 ≈ 71.4% of its hosts are
	// healthy.
	DefaultOverprovisioning = 1.4

	// DefaultHealthyScore is the recent score (the mean outcome score over
	// the short window, see DefaultShortWindow) below which a host counts
	// as unhealthy for tier and zone weights: with ErrorScorer, a host
	// failing more than one call in five.
	DefaultHealthyScore = 0.8

	// DefaultZoneMinHosts is the smallest tier for which zone-aware
	// routing is used (Envoy's min_cluster_size): in a smaller one, a
	// single zone's hosts are too few to be preferred safely.
	DefaultZoneMinHosts = 6

	// DefaultGroupRefresh is how often, at most, the tier and zone shares
	// are recomputed from the hosts' health. The recomputation runs inside
	// one pick in every so many, never under a lock that picks wait for.
	DefaultGroupRefresh = 100 * time.Millisecond

	// ZoneEnv is the environment variable HostSet reads the local zone
	// from when WithLocalZone is not given.
	ZoneEnv = "LBKIT_ZONE"
)

// groupConfig is the part of hostConfig that configures tiers and zones.
type groupConfig struct {
	overprovision float64
	healthyScore  float64
	localZone     string
	zoneSet       bool // WithLocalZone was given (even as "")
	zoneMinHosts  int
	refresh       int64 // nanoseconds of the hosts' clock
	src           rand.Source
}

func defaultGroupConfig() groupConfig {
	return groupConfig{
		overprovision: DefaultOverprovisioning,
		healthyScore:  DefaultHealthyScore,
		zoneMinHosts:  DefaultZoneMinHosts,
		refresh:       int64(DefaultGroupRefresh),
	}
}

// WithOverprovisioning sets the overprovisioning factor of the failover
// tiers (DefaultOverprovisioning by default): a tier's health is its
// healthy share of hosts times f, capped at 1. f below 1 is an error.
func WithOverprovisioning(f float64) Option {
	return func(c *hostConfig) error {
		if !(f >= 1) || math.IsInf(f, 1) {
			return invalid("overprovisioning factor %v is not in [1, ∞)", f)
		}
		c.tiers.overprovision = f
		return nil
	}
}

// WithHealthyScore sets the recent score below which a host counts as
// unhealthy for the tier and zone shares (DefaultHealthyScore by default).
// A value outside (0, 1] is an error.
func WithHealthyScore(min float64) Option {
	return func(c *hostConfig) error {
		if !(min > 0 && min <= 1) {
			return invalid("healthy score %v is not in (0, 1]", min)
		}
		c.tiers.healthyScore = min
		return nil
	}
}

// WithLocalZone sets the zone the client runs in, which turns on
// zone-aware routing: within each tier of at least minHosts hosts
// (DefaultZoneMinHosts when minHosts is 0) the hosts of zone are preferred
// while they are healthy enough to carry the zone's share of the traffic.
// Without this option the zone is read from the environment variable
// ZoneEnv; an empty zone turns zone-aware routing off. A negative minHosts
// is an error.
func WithLocalZone(zone string, minHosts int) Option {
	return func(c *hostConfig) error {
		if minHosts < 0 {
			return invalid("negative zone minimum %d", minHosts)
		}
		if minHosts == 0 {
			minHosts = DefaultZoneMinHosts
		}
		c.tiers.localZone, c.tiers.zoneSet, c.tiers.zoneMinHosts = zone, true, minHosts
		return nil
	}
}

// WithGroupRefresh sets how often, at most, the tier and zone shares are
// recomputed from the hosts' health (DefaultGroupRefresh by default). Zero
// or less is an error.
func WithGroupRefresh(d time.Duration) Option {
	return func(c *hostConfig) error {
		if d <= 0 {
			return invalid("group refresh %v is not positive", d)
		}
		c.tiers.refresh = int64(d)
		return nil
	}
}

// WithGroupSource makes the choice of tier and zone draw from src instead
// of the runtime's generator, so that a simulation on one goroutine is
// reproducible. src must be safe for the concurrency the set is used with
// (a rand.PCG is not safe for concurrent use).
func WithGroupSource(src rand.Source) Option {
	return func(c *hostConfig) error {
		if src == nil {
			return invalid("nil group source")
		}
		c.tiers.src = src
		return nil
	}
}

// DefaultUnhealthyStreak is the number of consecutive failed calls after
// which a host counts as unhealthy for the tier and zone shares, whatever
// its recent score (Envoy's consecutive_5xx default): a strategy that
// stops calling a failing host after a few failures leaves its score high,
// and the streak is what shows it failed.
const DefaultUnhealthyStreak = 5

// healthy reports whether the host counts as healthy for the tier and zone
// shares: it is not ejected as an outlier (WithOutlierEjection), its last
// DefaultUnhealthyStreak calls did not all fail, and its recent score is
// at least min.
func (s *Host) healthy(now int64, min float64) bool {
	h, _ := s.tierHealth(now, min)
	return h
}

// tierHealth is healthy, and whether an unhealthy verdict has lapsed: the
// last observation is more than two short windows old. A lapsed host
// counts as healthy again and HostSet sends it one probe call, so that a
// host no strategy calls any more (or a tier that lost all its traffic)
// can show that it recovered; a failed probe renews the verdict at once
// (the streak is not reset by time).
func (s *Host) tierHealth(now int64, min float64) (healthy, lapsed bool) {
	if now < s.hh.ejectedUntil.Load() {
		return false, false // outlier ejection decides when it returns
	}
	if s.streak.Load() < DefaultUnhealthyStreak && math.Float64frombits(s.recent.Load()) >= min {
		return true, false
	}
	lapsed = now-s.last.Load() > 2*int64(s.short)
	return lapsed, lapsed
}

// GroupStats is a snapshot of one group of a HostSet: the hosts of one
// priority tier, or of one zone within a tier when zone-aware routing
// splits it.
type GroupStats struct {
	// Priority is the tier's priority (lower is preferred).
	Priority int
	// Zone is the group's zone; empty when the tier is not split by zone.
	Zone string
	// Local reports whether Zone is the client's zone.
	Local bool
	// Hosts is the number of hosts in the group, Healthy how many of them
	// count as healthy.
	Hosts, Healthy int
	// Health is the tier's health: its healthy share of hosts times the
	// overprovisioning factor, capped at 1 (the same for every group of a
	// tier).
	Health float64
	// Share is the share of picks the group is given, in [0,1].
	Share float64
}

// group is the hosts of one tier, or of one zone within a tier, with the
// strategy's picker over them.
type group struct {
	priority int
	tier     int // index of the tier among the set's, 0 first
	zone     string
	local    bool
	split    bool // the tier is split by zone
	hosts    []*Host
	index    []int // the group's host index → the set's
	picker   Picker
}

// groupedPicker is the Picker of a set whose hosts are in more than one
// group: one draw chooses the group by its share, the group's own picker
// the host. Shares are kept as cumulative thresholds on 32 random bits and
// are recomputed by whichever pick finds them due.
type groupedPicker struct {
	groups []group
	cum    []atomic.Uint64 // cum[g]: picks with r < cum[g] go to a group ≤ g
	share  []atomic.Uint64 // float64 bits, for GroupStats
	health []atomic.Uint64 // float64 bits, per group's tier, for GroupStats
	nhl    []atomic.Int64  // healthy hosts per group, for GroupStats
	next   atomic.Int64    // clock reading after which shares are due
	probe  atomic.Int64    // index of a lapsed host for the next pick, or -1
	clock  func() int64
	cfg    groupConfig
	rng    rng
	mu     sync.Mutex // held (TryLock) by the one pick that recomputes
	tiers  []tierLoad // scratch of the recomputation, guarded by mu
}

// tierLoad is one tier's figures in a recomputation of the shares.
type tierLoad struct{ n, healthy, health, load float64 }

// refreshMask makes one pick in 64 read the clock to see whether the
// shares are due; so does a pick whose host was called since they fell
// due (its last observation is a clock reading the pick gets for free).
const refreshMask = 63

// newGroupedPicker returns the picker over hosts grouped by tier and zone,
// or nil when they form a single group, so that the strategy's own picker
// serves them with no cost added.
func newGroupedPicker(s Strategy, hosts []*Host, cfg *hostConfig) *groupedPicker {
	if len(hosts) < 2 {
		return nil
	}
	// The common case, one priority and no local zone, is one group: say
	// so after one pass, without the sort and without building a picker
	// that the caller would build again.
	if cfg.tiers.localZone == "" {
		p0, one := hosts[0].Priority(), true
		for _, h := range hosts[1:] {
			if h.Priority() != p0 {
				one = false
				break
			}
		}
		if one {
			return nil
		}
	}
	idx := make([]int, len(hosts))
	for i := range idx {
		idx[i] = i
	}
	gc := cfg.tiers
	// Tiers by priority; within a tier the local zone first, then the
	// others by name; set order within a group.
	key := func(i int) (int, bool, string) {
		h := hosts[i]
		z := h.Zone()
		return h.Priority(), z == gc.localZone, z
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		pa, la, za := key(a)
		pb, lb, zb := key(b)
		if c := cmp.Compare(pa, pb); c != 0 {
			return c
		}
		if la != lb {
			if la {
				return -1
			}
			return 1
		}
		return cmp.Compare(za, zb)
	})
	var groups []group
	for lo := 0; lo < len(idx); {
		p := hosts[idx[lo]].Priority()
		hi := lo
		for hi < len(idx) && hosts[idx[hi]].Priority() == p {
			hi++
		}
		tier := idx[lo:hi]
		split := gc.localZone != "" && len(tier) >= gc.zoneMinHosts &&
			hosts[tier[0]].Zone() == gc.localZone && hosts[tier[len(tier)-1]].Zone() != gc.localZone
		t := 0
		if len(groups) > 0 {
			t = groups[len(groups)-1].tier + 1
		}
		for a := 0; a < len(tier); {
			b := len(tier)
			z := ""
			if split {
				z = hosts[tier[a]].Zone()
				for b = a; b < len(tier) && hosts[tier[b]].Zone() == z; b++ {
				}
			}
			g := group{priority: p, tier: t, zone: z, local: split && z == gc.localZone, split: split, index: slices.Clone(tier[a:b])}
			g.hosts = make([]*Host, len(g.index))
			for k, i := range g.index {
				g.hosts[k] = hosts[i]
			}
			g.picker = s.NewPicker(g.hosts)
			groups = append(groups, g)
			a = b
		}
		lo = hi
	}
	if len(groups) == 1 {
		return nil
	}
	p := &groupedPicker{
		groups: groups,
		cum:    make([]atomic.Uint64, len(groups)),
		share:  make([]atomic.Uint64, len(groups)),
		health: make([]atomic.Uint64, len(groups)),
		nhl:    make([]atomic.Int64, len(groups)),
		clock:  cfg.clock,
		cfg:    gc,
		rng:    rngOf(gc.src),
		tiers:  make([]tierLoad, groups[len(groups)-1].tier+1),
	}
	p.probe.Store(-1)
	p.refresh(p.clock())
	return p
}

// Pick draws the group by its share, then lets the group's picker choose.
func (p *groupedPicker) Pick() int {
	if p.probe.Load() >= 0 {
		if j := p.probe.Swap(-1); j >= 0 {
			return int(j)
		}
	}
	x := p.rng.uint64()
	if x&refreshMask == 0 {
		p.maybeRefresh()
	}
	r := x >> 32
	last := len(p.groups) - 1
	g := 0
	for g < last && r >= p.cum[g].Load() {
		g++
	}
	grp := &p.groups[g]
	j := grp.picker.Pick()
	if uint(j) >= uint(len(grp.index)) {
		return -1
	}
	h := grp.hosts[j]
	if h.last.Load() >= p.next.Load() && x&refreshMask != 0 {
		// The host was called after the shares fell due: in quiet
		// traffic one pick in 64 would look at the clock too seldom
		// (every 16 s at 4 calls/s) for a lapsed host's probe.
		p.maybeRefresh()
	}
	if h.streak.Load() >= outStreak && h.outOfTier() || h.hh.gate.Load() != 0 && !h.usable() {
		j = grp.serving(j)
	}
	return grp.index[j]
}

// serving returns a host of the group that is not out of its tier (see
// outOfTier) and that outlier ejection lets serve. As in Envoy, where a
// priority level balances over its healthy hosts only, a host whose
// failures have taken it out of its tier's health gets no more traffic in
// its tier while others can take it; the refresh's probe (see tierHealth)
// tells when it recovers. With none such in the group it falls back to
// usable.
func (g *group) serving(first int) int {
	if j := g.find(func(h *Host) bool { return !h.outOfTier() && h.usable() }); j >= 0 {
		return j
	}
	return g.usable(first)
}

// find returns the index of a host of the group for which ok holds,
// scanning from a random point, or -1 if there is none.
func (g *group) find(ok func(*Host) bool) int {
	n := len(g.hosts)
	off := rand.IntN(n)
	for k := range n {
		j := off + k
		if j >= n {
			j -= n
		}
		if ok(g.hosts[j]) {
			return j
		}
	}
	return -1
}

// outStreak is the shortest failure streak that can take a host out of its
// tier's picks (see outOfTier).
const outStreak = 2

// outOfTier reports whether the host gets no picks in its tier while
// others can take them: its last outStreak calls failed and it counts as
// unhealthy for the tier's health (tierHealth, lapse aside; always so after
// DefaultUnhealthyStreak failures). Without it a host the tier had counted
// out could still be picked until its DefaultUnhealthyStreak-th failure,
// and PeakEWMA, whose failure penalty fades between tries, spread those
// failures over seconds of first tries. One failure is not enough: it puts
// the score of a host whose record rests on a few calls (a new one, or one
// whose record faded while it was not called) below the healthy score, and
// the host would wait two short windows for its probe; after one failure
// its next call decides. A host with a long record needs many failures to
// fall below the healthy score, however seldom it is called, since its
// record forgets by its own calls (see memory).
func (s *Host) outOfTier() bool {
	st := s.streak.Load()
	return st >= DefaultUnhealthyStreak || st >= outStreak && math.Float64frombits(s.recent.Load()) < s.minScore
}

// usable returns a host of the group that outlier ejection lets serve,
// scanning from a random point, or first if there is none. A strategy may
// well choose an ejected host (PeakEWMA finds one that gets no calls
// cheap), and the set's own fallback would look across every tier: the
// scan keeps the pick in the group the shares chose.
func (g *group) usable(first int) int {
	if j := g.find((*Host).usable); j >= 0 {
		return j
	}
	return first
}

// maybeRefresh recomputes the shares if they are due and no other pick is
// recomputing them.
func (p *groupedPicker) maybeRefresh() {
	now := p.clock()
	if now < p.next.Load() || !p.mu.TryLock() {
		return
	}
	if now >= p.next.Load() {
		p.refreshLocked(now)
	}
	p.mu.Unlock()
}

// refresh recomputes the shares now, waiting for a recomputation under way.
func (p *groupedPicker) refresh(now int64) {
	p.mu.Lock()
	p.refreshLocked(now)
	p.mu.Unlock()
}

// refreshLocked computes every group's share, Envoy's way. Each tier's
// health is its healthy share of hosts times the overprovisioning factor,
// capped at 1; tier 0 takes its health's worth of the traffic and the rest
// spills to the next tier, and so on. When the healths add up to less than
// 1 they are scaled up to 1 (Envoy's normalised total health), and when
// every tier is wholly unhealthy tier 0 takes everything. Within a tier
// split by zone, the local zone keeps the whole tier's traffic while its
// healthy share of the tier's hosts is at least its share of all of them
// (the clients are taken to be spread over zones as the hosts are), and
// otherwise keeps the ratio of the two and spills the rest to the other
// zones in proportion to their spare healthy share (Envoy's zone-aware
// routing). Called with p.mu held.
func (p *groupedPicker) refreshLocked(now int64) {
	p.next.Store(now + p.cfg.refresh)
	ts := p.tiers
	clear(ts)
	for g := range p.groups {
		grp := &p.groups[g]
		h := 0
		for k, host := range grp.hosts {
			ok, lapsed := host.tierHealth(now, p.cfg.healthyScore)
			if ok {
				h++
			}
			if lapsed && p.probe.Load() < 0 {
				p.probe.Store(int64(grp.index[k]))
			}
		}
		p.nhl[g].Store(int64(h))
		ts[grp.tier].n += float64(len(grp.hosts))
		ts[grp.tier].healthy += float64(h)
	}
	total := 0.0
	for t := range ts {
		ts[t].health = min(1, p.cfg.overprovision*ts[t].healthy/ts[t].n)
		total += ts[t].health
	}
	rest := 1.0
	for t := range ts {
		switch {
		case total == 0:
			ts[t].load = 0
			if t == 0 {
				ts[t].load = 1
			}
		case total < 1:
			ts[t].load = ts[t].health / total
		default:
			ts[t].load = min(rest, ts[t].health)
			rest -= ts[t].load
		}
	}
	cum := 0.0
	for g := 0; g < len(p.groups); {
		t := p.groups[g].tier
		end := g
		for end < len(p.groups) && p.groups[end].tier == t {
			end++
		}
		p.zoneShares(g, end, ts[t].load)
		for ; g < end; g++ {
			s := math.Float64frombits(p.share[g].Load())
			p.health[g].Store(math.Float64bits(ts[t].health))
			cum += s
			p.cum[g].Store(uint64(math.Min(cum, 1) * (1 << 32)))
		}
	}
	p.cum[len(p.cum)-1].Store(1 << 32)
}

// zoneShares stores the shares of groups [a, b), one tier's, given the
// tier's load.
func (p *groupedPicker) zoneShares(a, b int, load float64) {
	if b-a == 1 || !p.groups[a].local {
		for g := a; g < b; g++ {
			p.share[g].Store(math.Float64bits(load / float64(b-a)))
		}
		return
	}
	var n, healthy float64
	for g := a; g < b; g++ {
		n += float64(len(p.groups[g].hosts))
		healthy += float64(p.nhl[g].Load())
	}
	capacity := func(g int) float64 { return float64(len(p.groups[g].hosts)) / n }
	upstream := func(g int) float64 {
		if healthy == 0 {
			return capacity(g)
		}
		return float64(p.nhl[g].Load()) / healthy
	}
	spare := 0.0
	for g := a + 1; g < b; g++ {
		spare += max(0, upstream(g)-capacity(g))
	}
	local := 1.0
	if u, c := upstream(a), capacity(a); u < c && spare > 0 {
		local = u / c
	}
	p.share[a].Store(math.Float64bits(load * local))
	for g := a + 1; g < b; g++ {
		s := 0.0
		if spare > 0 {
			s = load * (1 - local) * max(0, upstream(g)-capacity(g)) / spare
		}
		p.share[g].Store(math.Float64bits(s))
	}
}

// stats returns the groups' snapshot, recomputing the shares first if
// they are due.
func (p *groupedPicker) stats() []GroupStats {
	if now := p.clock(); now >= p.next.Load() {
		p.refresh(now)
	}
	out := make([]GroupStats, len(p.groups))
	for g := range p.groups {
		grp := &p.groups[g]
		out[g] = GroupStats{
			Priority: grp.priority,
			Zone:     grp.zone,
			Local:    grp.local,
			Hosts:    len(grp.hosts),
			Healthy:  int(p.nhl[g].Load()),
			Health:   math.Float64frombits(p.health[g].Load()),
			Share:    math.Float64frombits(p.share[g].Load()),
		}
	}
	return out
}
