package strategy

import "sync/atomic"

// memo holds a bandit picker's precomputed table and decides when it is
// stale. The table is recomputed by whichever pick first notices that it
// has expired; the others go on using the current one meanwhile, so no pick
// waits and no lock is shared.
//
// Noticing must be cheap: reading the clock costs more than the rest of a
// pick. So a pick reads the clock only when the host it is about to choose
// has been observed since the table expired (the observation's time, which
// Host keeps, proves that the table is out of date), or, to catch what
// that misses (other hosts' observations, the passing of time), on one pick
// in sixteen chosen at random.
//
// Two tables are allocated up front and used in turn, so that a refresh
// allocates nothing. A pick that loaded the current table and then stalled
// for a whole memoization interval may read the other one while it is being
// rewritten: every element is therefore an atomic, and any mixture of old
// and new values is still a valid host index.
type memo[T any] struct {
	every int64 // nanoseconds of the picker's clock
	until atomic.Int64
	busy  atomic.Bool
	cur   atomic.Pointer[T]
	spare *T // touched only by the holder of busy
}

// init makes a, which the caller has filled at now, the current table and b
// the spare.
func (m *memo[T]) init(every, now int64, a, b *T) {
	m.every, m.spare = every, b
	m.cur.Store(a)
	m.until.Store(now + every)
}

// due reports whether the clock should be read to see if the table needs a
// refresh, given the last observation time of the host about to be picked
// and the pick's random number r.
func (m *memo[T]) due(last int64, r uint64) bool {
	return m.every == 0 || last >= m.until.Load() || (r^r>>32)&15 == 0
}

// claim reports whether the caller should refresh the table: it has expired
// and no one else is refreshing it. A caller that gets true must call
// publish.
func (m *memo[T]) claim(now int64) bool {
	return now >= m.until.Load() && m.busy.CompareAndSwap(false, true)
}

// publish makes the spare table, which the caller has just filled, the
// current one.
func (m *memo[T]) publish(now int64) {
	old := m.cur.Load()
	m.cur.Store(m.spare)
	m.spare = old
	m.until.Store(now + m.every)
	m.busy.Store(false)
}

// startAliasMemo fills a first alias table over n hosts for now and makes it
// m's current table, with a spare for the refreshes to come.
func startAliasMemo(m *memo[aliasTable], n int, every, now int64, fill func(*aliasTable, int64)) {
	t1, t2 := newAliasTable(n), newAliasTable(n)
	fill(t1, now)
	m.init(every, now, t1, t2)
}

// tablePicker is the picker of the bandits whose table is a list of hosts
// to choose from uniformly (EpsilonGreedy, Thompson), with an optional
// share of uniformly random exploration picks.
// aliasBandit is what the softmax and UCB1 pickers share: the hosts, an
// alias table of their shares memoized for an interval and refreshed by
// the picker's fill, and a pick that keeps the least loaded of three draws
// from the table.
type aliasBandit struct {
	memo  memo[aliasTable]
	hosts []*Host
	clock func() int64
	rng   rng
}

// aliasFiller refreshes an alias table of a bandit's shares as of now.
type aliasFiller interface {
	fill(t *aliasTable, now int64)
}

// pick draws from the current table, refreshing it through f when it is
// due, and returns the least loaded of that draw and two more.
func (p *aliasBandit) pick(f aliasFiller) int {
	r := p.rng.uint64()
	t := p.memo.cur.Load()
	i := t.pick(r)
	if p.memo.due(p.hosts[i].last.Load(), r) {
		if now := p.clock(); p.memo.claim(now) {
			f.fill(p.memo.spare, now)
			p.memo.publish(now)
			t = p.memo.cur.Load()
			i = t.pick(r)
		}
	}
	r = p.rng.uint64()
	return leastLoaded(p.hosts, i, t.pick32(uint32(r)), t.pick32(uint32(r>>32)))
}

type tablePicker struct {
	memo    memo[indexTable]
	hosts   []*Host
	clock   func() int64
	rng     rng
	explore uint64                         // threshold on 32 random bits
	fill    func(t *indexTable, now int64) // writes the table for now
}

func newTablePicker(hosts []*Host, b bandit, size int, explore float64, fill func(*indexTable, int64)) *tablePicker {
	p := &tablePicker{hosts: hosts, clock: hosts[0].clock, rng: b.rng, explore: threshold(explore), fill: fill}
	now := p.clock()
	t1, t2 := newIndexTable(size), newIndexTable(size)
	fill(t1, now)
	p.memo.init(int64(b.memo), now, t1, t2)
	return p
}

func (p *tablePicker) Pick() int {
	r := p.rng.uint64()
	if uint64(uint32(r)) < p.explore {
		return index(uint32(r>>32), len(p.hosts))
	}
	t := p.memo.cur.Load()
	i := t.pick(uint32(r >> 32))
	if p.memo.due(p.hosts[i].last.Load(), r) {
		if now := p.clock(); p.memo.claim(now) {
			p.fill(p.memo.spare, now)
			p.memo.publish(now)
			t = p.memo.cur.Load()
			i = t.pick(uint32(r >> 32))
		}
	}
	r = p.rng.uint64()
	return leastLoaded(p.hosts, i, t.pick(uint32(r)), t.pick(uint32(r>>32)))
}

// leastLoaded returns whichever of hosts i, j and k has the fewest calls in
// flight, the first on a tie. The bandits draw three hosts from their
// distribution and keep the least loaded (the power of choices over the
// bandit's shares): their tables change only once per memoization interval,
// so without it concurrent calls queue behind a busy host that the table
// still favours. Three draws rather than two make up for drawing with
// repetition and for the picks EpsilonGreedy explores with. Identical hosts
// keep identical shares, and a host the table shuts out is drawn no more
// often than three times its share.
func leastLoaded(hosts []*Host, i, j, k int) int {
	fi, fj, fk := hosts[i].inflight.Load(), hosts[j].inflight.Load(), hosts[k].inflight.Load()
	if fj < fi {
		i, fi = j, fj
	}
	if fk < fi {
		i = k
	}
	return i
}

// indexTable is a list of host indices that a pick chooses from uniformly:
// the best hosts for EpsilonGreedy, a batch of posterior draws for
// Thompson.
type indexTable struct {
	n   atomic.Int32 // entries in use, at least 1
	idx []atomic.Int32
}

func newIndexTable(size int) *indexTable {
	return &indexTable{idx: make([]atomic.Int32, size)}
}

func (t *indexTable) pick(x uint32) int {
	return int(t.idx[index(x, int(t.n.Load()))].Load())
}

// aliasTable samples a discrete distribution in constant time (Walker's alias
// method, built with Vose's algorithm): slot i keeps its own host with
// probability prob[i]/2³² and hands over to alias[i] otherwise.
type aliasTable struct {
	prob  []atomic.Uint64
	alias []atomic.Int32
}

func newAliasTable(n int) *aliasTable {
	return &aliasTable{prob: make([]atomic.Uint64, n), alias: make([]atomic.Int32, n)}
}

// pick32 is pick from 32 random bits: the low half of the slot's product
// (see indexRest) serves as the coin, so that the bandits' extra draws
// (leastLoaded) cost one random number for two picks.
func (t *aliasTable) pick32(x uint32) int {
	i, coin := indexRest(x, len(t.prob))
	if uint64(coin) < t.prob[i].Load() {
		return i
	}
	return int(t.alias[i].Load())
}

func (t *aliasTable) pick(r uint64) int {
	i := index(uint32(r>>32), len(t.prob))
	if uint64(uint32(r)) < t.prob[i].Load() {
		return i
	}
	return int(t.alias[i].Load())
}

// aliasScratch is the working memory of building an alias table, kept by
// the picker so that refreshes allocate nothing.
type aliasScratch struct {
	scaled       []float64
	small, large []int32
}

func newAliasScratch(n int) *aliasScratch {
	return &aliasScratch{scaled: make([]float64, n), small: make([]int32, 0, n), large: make([]int32, 0, n)}
}

// build fills t so that host i is picked with probability w[i]/sum(w). The
// weights must be finite, non-negative and not all zero.
func (s *aliasScratch) build(t *aliasTable, w []float64) {
	n := len(w)
	var total float64
	for _, x := range w {
		total += x
	}
	small, large := s.small[:0], s.large[:0]
	for i, x := range w {
		s.scaled[i] = x * float64(n) / total
		if s.scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		l := small[len(small)-1]
		small = small[:len(small)-1]
		g := large[len(large)-1]
		t.prob[l].Store(threshold(s.scaled[l]))
		t.alias[l].Store(g)
		s.scaled[g] += s.scaled[l] - 1
		if s.scaled[g] < 1 {
			large = large[:len(large)-1]
			small = append(small, g)
		}
	}
	// What remains is 1 up to rounding error: such slots keep their host.
	for _, i := range large {
		t.prob[i].Store(1 << 32)
		t.alias[i].Store(i)
	}
	for _, i := range small {
		t.prob[i].Store(1 << 32)
		t.alias[i].Store(i)
	}
	s.small, s.large = small, large
}
