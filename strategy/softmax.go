package strategy

import (
	"fmt"
	"math"
	"strconv"
)

// NewSoftmax returns the softmax (Boltzmann) bandit strategy, as in pooly:
// host i is picked with probability proportional to weight(i) ×
// exp(score(i)/temperature), where score is its time-decayed mean score
// (rated as perfect while it has no observations, and drifting back towards
// perfect as its observations fade). A high temperature spreads the picks
// evenly; a low one sends nearly all of them to the best hosts. With scores
// in [0,1], a temperature of 0.1 gives a host that fails 10% of its calls
// e⁻¹ (37%) of a perfect host's traffic, and one that fails half of them
// under 1%.
//
// The distribution is recomputed at most once per memoization interval
// (WithMemoize, default DefaultMemoize) into an alias table, so a pick costs
// one random number and two look-ups however many hosts there are, and no
// exponentials. Softmax ignores load, but unlike the greedy strategies it
// never sends all picks of an interval to one host. Options:
// WithPickerClock, WithRand, WithMemoize, WithScoreFunc. A temperature that
// is not a finite number above zero is an error.
func NewSoftmax(temperature float64, opts ...Option) (Strategy, error) {
	name := "softmax(" + strconv.FormatFloat(temperature, 'g', -1, 64) + ")"
	if !(temperature > 0) || math.IsInf(temperature, 0) {
		return nil, fmt.Errorf("%w: softmax temperature %v is not a finite number above zero", ErrInvalidArgument, temperature)
	}
	cfg, err := newConfig(name, banditOptions, opts)
	if err != nil {
		return nil, err
	}
	return &softmax{name: name, temperature: temperature, cfg: cfg}, nil
}

type softmax struct {
	name        string
	temperature float64
	cfg         config
}

func (s *softmax) Name() string { return s.name }

func (s *softmax) NewPicker(hosts []*Stats) Picker {
	if p := trivial(hosts); p != nil {
		return p
	}
	p := &softmaxPicker{
		hosts:   hosts,
		clock:   s.cfg.clockFor(hosts),
		rng:     s.cfg.rng,
		temp:    s.temperature,
		score:   s.cfg.score,
		w:       make([]float64, len(hosts)),
		scratch: newAliasScratch(len(hosts)),
	}
	now := p.clock()
	a, b := newAliasTable(len(hosts)), newAliasTable(len(hosts))
	p.fill(a, now)
	p.memo.init(int64(s.cfg.memo), now, a, b)
	return p
}

type softmaxPicker struct {
	memo    memo[aliasTable]
	hosts   []*Stats
	clock   Clock
	rng     rng
	temp    float64
	score   ScoreFunc
	w       []float64 // scratch, touched only by the refresher
	scratch *aliasScratch
}

func (p *softmaxPicker) Pick() int {
	r := p.rng.uint64()
	i := p.memo.cur.Load().pick(r)
	if p.memo.due(p.hosts[i].last.Load(), r) {
		if now := p.clock(); p.memo.claim(now) {
			p.fill(p.memo.spare, now)
			p.memo.publish(now)
			i = p.memo.cur.Load().pick(r)
		}
	}
	return i
}

func (p *softmaxPicker) fill(t *aliasTable, now int64) {
	top := math.Inf(-1)
	for i, h := range p.hosts {
		p.w[i] = optimistic(estimate(h, p.score, now))
		top = max(top, p.w[i])
	}
	// Subtracting the top score keeps every exponent ≤ 0, so nothing
	// overflows and the best host's term is its weight, at least 1.
	for i, h := range p.hosts {
		p.w[i] = float64(h.Weight()) * math.Exp((p.w[i]-top)/p.temp)
	}
	p.scratch.build(t, p.w)
}
