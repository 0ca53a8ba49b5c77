package strategy

import "math"

// UCB1 is the UCB1 bandit strategy (Auer, Cesa-Bianchi and Fischer, 2002)
// over time-decayed counts: each host is rated by its mean score plus an
// exploration bonus sqrt(2 ln N / n), where n is its decayed number of
// observations and N the hosts' total, and the best-rated host is picked.
// A host without observations has an infinite rating and is tried first
// (such hosts share the picks at random). Because the counts decay, a host
// that stopped getting traffic sees its bonus grow until it is tried again,
// so UCB1 notices recoveries.
//
// Plain UCB1 is deterministic: it would send every pick of a memoization
// interval (Bandit.Memoize) to the one best-rated host, which herds a busy
// request path onto one backend at a time. So the picker spreads an
// interval's picks the way UCB1 would if it saw each pick's outcome at
// once: it expects as many picks in the interval as there were new
// observations in the last one, hands them out as virtual
// observations to whichever host is then rated best, and lets each host
// get its share of the virtual observations at random. Identical hosts get
// equal shares; a host rated clearly worse gets none until its bonus has
// grown. A pick keeps the least loaded of three draws from the shares.
// Weights are ignored.
type UCB1 struct {
	Bandit
}

// Validate returns an error wrapping ErrInvalidArgument for a field out of
// range.
func (s UCB1) Validate() error { return s.Bandit.validate("ucb1") }

// Name is "ucb1".
func (UCB1) Name() string { return "ucb1" }

// NewPicker implements Strategy.
func (s UCB1) NewPicker(hosts []*Host) Picker {
	if p := trivial(hosts); p != nil {
		return p
	}
	b := s.resolve()
	p := &ucbPicker{
		aliasBandit: aliasBandit{hosts: hosts, clock: hosts[0].clock, rng: b.rng},
		memoNs:      float64(b.memo),
		transform:   b.transform,
		mean:        make([]float64, len(hosts)),
		n:           make([]float64, len(hosts)),
		prevReq:     make([]uint64, len(hosts)),
		w:           make([]float64, len(hosts)),
		scratch:     newAliasScratch(len(hosts)),
	}
	startAliasMemo(&p.memo, len(hosts), int64(b.memo), p.clock(), p.fill)
	return p
}

type ucbPicker struct {
	aliasBandit
	memoNs     float64
	transform  func(float64) float64
	mean, n, w []float64 // scratch, touched only by the refresher
	scratch    *aliasScratch
	// The hosts' observation counters at the last refresh, and its time
	// (0: none yet), from which the next refresh learns how many
	// observations came in.
	prevReq []uint64
	prevAt  int64
}

func (p *ucbPicker) Pick() int { return p.pick(p) }

// ucbBisections is how many halvings the search for the water level makes:
// enough to pin it down to far below any difference a share could show.
const ucbBisections = 48

// fill writes the interval's shares into t. With budget B virtual
// observations to hand out, greedy UCB1 gives each one to the best-rated
// host, so the ratings end level: host i gets c_i = 2 ln N / (L - mean_i)²
// - n_i (or none, if its rating is already below L), with the level L set
// so that the c_i add up to B. The c_i are the shares.
func (p *ucbPicker) fill(t *aliasTable, now int64) {
	var total, budget float64
	var fresh uint64
	untried := 0
	topMean := math.Inf(-1)
	dt := float64(now - p.prevAt)
	for i, h := range p.hosts {
		// UCB1 ranks by the whole window's mean: its exploration bonus,
		// not a short memory, is what brings a recovered host back.
		p.mean[i], p.n[i] = estimateFrom(h, h.mean(), p.transform, now)
		total += p.n[i]
		budget += p.n[i] * p.memoNs / h.window // the steady state's rate
		req := h.requests.Load()
		fresh += req - p.prevReq[i]
		p.prevReq[i] = req
		if p.n[i] == 0 {
			untried++
		}
		topMean = max(topMean, p.mean[i])
	}
	if p.prevAt != 0 && dt > 0 {
		// The observations that came in since the last refresh, at the
		// same rate over one interval: the decayed counts alone lag the
		// rate by a whole window when traffic starts or grows.
		budget = float64(fresh) * p.memoNs / dt
	}
	p.prevAt = now
	if untried > 0 {
		for i := range p.w {
			p.w[i] = 0
			if p.n[i] == 0 {
				p.w[i] = 1
			}
		}
		p.scratch.build(t, p.w)
		return
	}
	// ln N of at least 1 keeps a bonus even over the first few observations.
	c2 := 2 * math.Log(max(total, math.E))
	budget = max(budget*ucbHorizon, 1)
	hi := math.Inf(-1) // the best rating: no host gets anything at this level
	for i := range p.hosts {
		hi = max(hi, p.mean[i]+math.Sqrt(c2/p.n[i]))
	}
	lo := topMean // the level never reaches the best mean: that would take ∞
	for range ucbBisections {
		mid := (lo + hi) / 2
		if mid <= lo || mid >= hi {
			break
		}
		if p.shares(c2, mid) > budget {
			lo = mid
		} else {
			hi = mid
		}
	}
	// At hi the shares add up to at most the budget, and every host's is
	// finite, as hi is above every mean.
	if !(p.shares(c2, hi) > 0) {
		// Too little room between the levels to share (a budget below
		// rounding error): the best-rated hosts take the interval.
		for i := range p.w {
			p.w[i] = 0
			if p.mean[i]+math.Sqrt(c2/p.n[i]) >= hi-tie {
				p.w[i] = 1
			}
		}
	}
	p.scratch.build(t, p.w)
}

// shares writes into w each host's virtual observations at level L and
// returns their sum.
func (p *ucbPicker) shares(c2, level float64) float64 {
	var sum float64
	for i := range p.hosts {
		p.w[i] = 0
		if d := level - p.mean[i]; d > 0 {
			p.w[i] = max(c2/(d*d)-p.n[i], 0)
		} else {
			p.w[i] = math.Inf(1)
		}
		sum += p.w[i]
	}
	return sum
}

// ucbHorizon is how many memoization intervals' worth of picks a refresh
// hands out as virtual observations. Over one interval, UCB1 makes up all
// of the hosts' differences in observations at once, so the hosts it
// observed less get several times the share of the others and queue
// under a capacity limit; spread over a few intervals, the shares are even
// to within the differences' fraction of the larger budget.
const ucbHorizon = 8
