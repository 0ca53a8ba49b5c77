package strategy

import (
	"math"
	"strconv"
)

// Softmax is the softmax (Boltzmann) bandit strategy, as in pooly: host i is
// picked with probability proportional to weight(i) ×
// exp(score(i)/Temperature), where score is its recent mean score
// (rated as perfect while it has no observations, and drifting back towards
// perfect as its observations fade). A high temperature spreads the picks
// evenly; a low one sends nearly all of them to the best hosts. With scores
// in [0,1], a temperature of 0.1 gives a host that fails 10% of its calls
// e⁻¹ (37%) of a perfect host's traffic, and one that fails half of them
// under 1%.
//
// The distribution is recomputed at most once per memoization interval
// (Bandit.Memoize) into an alias table, so a pick costs one random number
// and two look-ups however many hosts there are, and no exponentials.
// A pick keeps the least loaded of three draws from the table, and unlike
// the greedy strategies softmax never sends all picks of an interval to one
// host.
type Softmax struct {
	// Temperature is a finite number above zero; 0 means
	// DefaultTemperature.
	Temperature float64
	Bandit
}

func (s Softmax) temperature() float64 {
	if s.Temperature == 0 {
		return DefaultTemperature
	}
	return s.Temperature
}

// Validate returns an error wrapping ErrInvalidArgument for a field out of
// range.
func (s Softmax) Validate() error {
	if s.Temperature < 0 || math.IsInf(s.Temperature, 0) || math.IsNaN(s.Temperature) {
		return invalid("softmax: temperature %v is not a finite number above zero", s.Temperature)
	}
	return s.Bandit.validate("softmax")
}

// Name is "softmax(T)".
func (s Softmax) Name() string {
	return "softmax(" + strconv.FormatFloat(s.temperature(), 'g', -1, 64) + ")"
}

// NewPicker implements Strategy.
func (s Softmax) NewPicker(hosts []*Host) Picker {
	if p := trivial(hosts); p != nil {
		return p
	}
	b := s.resolve()
	p := &softmaxPicker{
		aliasBandit: aliasBandit{hosts: hosts, clock: hosts[0].clock, rng: b.rng},
		temp:        s.temperature(),
		transform:   b.transform,
		w:           make([]float64, len(hosts)),
		scratch:     newAliasScratch(len(hosts)),
	}
	startAliasMemo(&p.memo, len(hosts), int64(b.memo), p.clock(), p.fill)
	return p
}

type softmaxPicker struct {
	aliasBandit
	temp      float64
	transform func(float64) float64
	w         []float64 // scratch, touched only by the refresher
	scratch   *aliasScratch
}

func (p *softmaxPicker) Pick() int { return p.pick(p) }

func (p *softmaxPicker) fill(t *aliasTable, now int64) {
	top := math.Inf(-1)
	for i, h := range p.hosts {
		p.w[i] = optimistic(estimate(h, p.transform, now))
		top = max(top, p.w[i])
	}
	// Subtracting the top score keeps every exponent ≤ 0, so nothing
	// overflows and the best host's term is its weight, at least 1.
	for i, h := range p.hosts {
		p.w[i] = float64(h.Weight()) * math.Exp((p.w[i]-top)/p.temp)
	}
	p.scratch.build(t, p.w)
}
