package strategy

import (
	"fmt"
	"math"
	"strconv"
)

// NewEpsilonGreedy returns the epsilon-greedy bandit strategy, as in pooly:
// a share epsilon of the picks goes to a host chosen uniformly at random
// (exploration), the rest to the host with the best time-decayed score
// (exploitation), shared at random among the hosts within GreedyTolerance of
// the best, so that equally good hosts share the load. A host without
// observations is rated as perfect, so new hosts are tried at once, and a
// host whose observations have faded drifts back towards perfect and is
// tried again.
//
// The ranking is recomputed at most once per memoization interval
// (WithMemoize, default DefaultMemoize); the pick itself is a table look-up.
// Epsilon-greedy ignores load and weights. With ErrorScorer the hosts that
// never fail tie and share the load, a slow one included; with a
// latency-aware scorer it sees slowness, but concurrent callers pile onto
// the current best host until its latency rises (the simulator's charts show
// the herding). It suits pooly's use, choosing the host of a new pooled
// connection, better than a busy request path. Options: WithPickerClock,
// WithRand, WithMemoize, WithScoreFunc. An epsilon outside [0,1] is an
// error.
func NewEpsilonGreedy(epsilon float64, opts ...Option) (Strategy, error) {
	name := "epsilon-greedy(" + strconv.FormatFloat(epsilon, 'g', -1, 64) + ")"
	if !(epsilon >= 0 && epsilon <= 1) {
		return nil, fmt.Errorf("%w: epsilon %v outside [0,1]", ErrInvalidArgument, epsilon)
	}
	cfg, err := newConfig(name, banditOptions, opts)
	if err != nil {
		return nil, err
	}
	return &epsilonGreedy{name: name, epsilon: epsilon, cfg: cfg}, nil
}

type epsilonGreedy struct {
	name    string
	epsilon float64
	cfg     config
}

func (s *epsilonGreedy) Name() string { return s.name }

func (s *epsilonGreedy) NewPicker(hosts []*Stats) Picker {
	if p := trivial(hosts); p != nil {
		return p
	}
	g := &greedyRanking{hosts: hosts, score: s.cfg.score, v: make([]float64, len(hosts))}
	return newTablePicker(hosts, &s.cfg, len(hosts), s.epsilon, g.fill)
}

type greedyRanking struct {
	hosts []*Stats
	score ScoreFunc
	v     []float64 // scratch, touched only by the refresher
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
		g.v[i] = optimistic(estimate(h, g.score, now))
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
