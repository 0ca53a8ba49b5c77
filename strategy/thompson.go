package strategy

// thompsonDraws is how many posterior draws a Thompson picker over n hosts
// makes per refresh. The picks of one memoization interval are spread over
// the hosts these draws chose, so each host gets about the share of traffic
// that Thompson sampling would give it, to within the draws' sampling
// error. Few draws make an interval lumpy (with 64 over 10 identical hosts
// one gets twice its share now and then, and queues behind it), so small
// sets get more, up to about 2¹⁶ host draws per refresh; never fewer than
// 64.
func thompsonDraws(n int) int { return min(max(1<<16/n, 64), 1024) }

// ThompsonMaxObservations caps the observations behind a Thompson posterior.
// Without a cap a host with thousands of perfect calls has a posterior so
// narrow that a new or recovered host, with only a handful, almost never
// draws higher and so never gathers the observations it would need to
// catch up. A balancer must tell a host that fails half its calls from one
// that never fails, not 99.9% from 99.8%, and a hundred observations are
// plenty for that.
const ThompsonMaxObservations = 100

// Thompson is the Thompson sampling bandit strategy over recent
// counts: each host's success rate has a Beta(1 + s, 1 + f) posterior, where
// s and f are its decayed successes and failures (its decayed observation
// count, at most ThompsonMaxObservations, times its mean score, and the
// rest), and a pick goes to the host whose posterior draw is highest. Hosts
// with few observations have wide posteriors and so win now and then, which
// is how Thompson sampling explores; since the counts decay, a host left
// alone for a while becomes uncertain again and is retried.
//
// Drawing from every host's posterior on each pick would cost time
// proportional to the number of hosts, so the picker draws a batch of
// winners once per memoization interval (Bandit.Memoize) and spreads the
// interval's picks over them: the traffic shares are Thompson sampling's,
// the cost per pick a table look-up (the least loaded of three draws from
// it). Weights are ignored.
type Thompson struct {
	Bandit
}

// Validate returns an error wrapping ErrInvalidArgument for a field out of
// range.
func (s Thompson) Validate() error { return s.Bandit.validate("thompson") }

// Name is "thompson".
func (Thompson) Name() string { return "thompson" }

// NewPicker implements Strategy.
func (s Thompson) NewPicker(hosts []*Host) Picker {
	if p := trivial(hosts); p != nil {
		return p
	}
	b := s.resolve()
	d := &thompsonDraw{hosts: hosts, transform: b.transform, rng: b.rng, a: make([]float64, len(hosts)), b: make([]float64, len(hosts))}
	return newTablePicker(hosts, b, thompsonDraws(len(hosts)), 0, d.fill)
}

type thompsonDraw struct {
	hosts     []*Host
	transform func(float64) float64
	rng       rng
	a, b      []float64 // scratch, touched only by the refresher
}

func (d *thompsonDraw) fill(t *indexTable, now int64) {
	for i, h := range d.hosts {
		m, n := estimate(h, d.transform, now)
		n = min(n, ThompsonMaxObservations)
		d.a[i], d.b[i] = 1+m*n, 1+(1-m)*n
	}
	draws := len(t.idx)
	for k := range draws {
		best, bi, ties := -1.0, 0, uint64(1)
		for i := range d.hosts {
			x := d.rng.beta(d.a[i], d.b[i])
			switch {
			case x > best:
				best, bi, ties = x, i, 1
			case x == best:
				// Equal draws share the slot uniformly (reservoir
				// sampling), so no host wins ties by its index.
				ties++
				if d.rng.uint64()%ties == 0 {
					bi = i
				}
			}
		}
		t.idx[k].Store(int32(bi))
	}
	t.n.Store(int32(draws))
}
