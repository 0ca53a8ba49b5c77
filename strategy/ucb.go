package strategy

import "math"

// UCB1 is the UCB1 bandit strategy (Auer, Cesa-Bianchi and Fischer, 2002)
// over time-decayed counts: each host is rated by its mean score plus an
// exploration bonus sqrt(2 ln N / n), where n is its decayed number of
// observations and N the hosts' total, and the best-rated host is picked
// (ties shared at random). A host without observations has an infinite
// rating and is tried first. Because the counts decay, a host that stopped
// getting traffic sees its bonus grow until it is tried again, so UCB1
// notices recoveries.
//
// UCB1 is deterministic: within one memoization interval (Bandit.Memoize)
// every pick goes to the same best-rated host. It fits clients that make one
// choice at a time (choosing the host of a new long-lived connection, say)
// better than a busy request path, where that host gets every request of the
// interval. Weights are ignored.
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
	u := &ucbRanking{hosts: hosts, transform: b.transform, mean: make([]float64, len(hosts)), n: make([]float64, len(hosts))}
	return newTablePicker(hosts, b, len(hosts), 0, u.fill)
}

type ucbRanking struct {
	hosts     []*Host
	transform func(float64) float64
	mean, n   []float64 // scratch, touched only by the refresher
}

func (u *ucbRanking) fill(t *indexTable, now int64) {
	var total float64
	for i, h := range u.hosts {
		u.mean[i], u.n[i] = estimate(h, u.transform, now)
		total += u.n[i]
	}
	lnN := math.Log(max(total, 1))
	best, k := math.Inf(-1), 0
	for i := range u.hosts {
		v := math.Inf(1)
		if u.n[i] > 0 {
			v = u.mean[i] + math.Sqrt(2*lnN/u.n[i])
		}
		if v > best+tie {
			best, k = v, 0
		}
		if v >= best-tie {
			t.idx[k].Store(int32(i))
			k++
		}
	}
	t.n.Store(int32(k))
}
