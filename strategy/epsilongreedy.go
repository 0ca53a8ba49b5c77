package strategy

import (
	"math"
	"strconv"
)

// EpsilonGreedy is the epsilon-greedy bandit strategy, as in pooly: a share
// Epsilon of the picks goes to a host chosen uniformly at random
// (exploration), the rest to the host with the best recent score
// (exploitation), shared at random among the hosts within GreedyTolerance of
// the best, so that equally good hosts share the load. A host without
// observations is rated as perfect, so new hosts are tried at once, and a
// host whose observations have faded drifts back towards perfect and is
// tried again.
//
// The ranking is recomputed at most once per memoization interval
// (Bandit.Memoize); the pick itself is a table look-up, the least loaded
// of three draws from the table. Epsilon-greedy ignores weights. With
// ErrorScorer the hosts that never fail tie
// and share the load, a slow one included; with LatencyScorer it sees
// slowness, but concurrent callers pile onto the current best host until its
// latency rises. It suits pooly's use, choosing the host of a new pooled
// connection, better than a busy request path.
type EpsilonGreedy struct {
	// Epsilon is the share of exploring picks, in (0,1]; 0 means
	// DefaultEpsilon. Outside [0,1] is invalid.
	Epsilon float64
	// Greedy makes no exploring picks at all (Epsilon is then ignored): a
	// host is tried again only once its record has faded back towards
	// perfect.
	Greedy bool
	Bandit
}

func (s EpsilonGreedy) epsilon() float64 {
	if s.Greedy {
		return 0
	}
	if s.Epsilon == 0 {
		return DefaultEpsilon
	}
	return s.Epsilon
}

// Validate returns an error wrapping ErrInvalidArgument for a field out of
// range.
func (s EpsilonGreedy) Validate() error {
	if !(s.Epsilon >= 0 && s.Epsilon <= 1) {
		return invalid("epsilon-greedy: epsilon %v outside [0,1]", s.Epsilon)
	}
	return s.Bandit.validate("epsilon-greedy")
}

// Name is "epsilon-greedy(ε)".
func (s EpsilonGreedy) Name() string {
	return "epsilon-greedy(" + strconv.FormatFloat(s.epsilon(), 'g', -1, 64) + ")"
}

// NewPicker implements Strategy.
func (s EpsilonGreedy) NewPicker(hosts []*Host) Picker {
	if p := trivial(hosts); p != nil {
		return p
	}
	b := s.resolve()
	g := &greedyRanking{hosts: hosts, transform: b.transform, v: make([]float64, len(hosts))}
	return newTablePicker(hosts, b, len(hosts), s.epsilon(), g.fill)
}

type greedyRanking struct {
	hosts     []*Host
	transform func(float64) float64
	v         []float64 // scratch, touched only by the refresher
}

// GreedyTolerance is how close to the best score a host must be for
// EpsilonGreedy to count it among the best. Scores are in [0,1]: hosts that
// differ by less than one point in a hundred share the exploiting picks,
// which keeps identical hosts with slightly different luck from being
// starved, and lets a recovered host back in once its record is within a
// point of the best.
const GreedyTolerance = 0.01

// tie is how close two UCB1 ratings must be to count as equal: anything this
// small is rounding error.
const tie = 1e-12

// fill lists the hosts within GreedyTolerance of the best optimistic score.
// The scores are computed in one pass and the list in a second, since a
// later host may raise the bar.
func (g *greedyRanking) fill(t *indexTable, now int64) {
	best := math.Inf(-1)
	for i, h := range g.hosts {
		g.v[i] = optimistic(estimate(h, g.transform, now))
		best = max(best, g.v[i])
	}
	k := 0
	for i, v := range g.v {
		if v >= best-GreedyTolerance {
			t.idx[k].Store(int32(i))
			k++
		}
	}
	t.n.Store(int32(k))
}
