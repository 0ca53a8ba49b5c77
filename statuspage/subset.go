package statuspage

import (
	"time"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/subset"
)

// SubsetSource is what the page needs of a subsetting publisher;
// *subset.Publisher satisfies it.
type SubsetSource interface {
	Stats() subset.Stats
}

// WithSubset shows, with the balancer of the same name (given by
// WithBalancer), the deterministic subset it balances over: the client's
// rank and count, the backends offered and used, the subset's addresses,
// the backends that entered or left it and when it last changed; and
// keeps the changes per interval in the history (series subsetChanges).
// s is usually the *subset.Publisher the balancer was built on. Each
// balancer takes at most one subset.
func WithSubset(balancer string, s SubsetSource) Option {
	return func(p *Page) error {
		if nilarg.IsNil(s) {
			return invalid("nil subset for %q", balancer)
		}
		if _, dup := p.subsets[balancer]; dup {
			return invalid("second subset for %q", balancer)
		}
		p.subsets[balancer] = s
		return nil
	}
}

// SubsetStatus is the page's JSON view of a subset.Stats.
type SubsetStatus struct {
	// Ready reports whether a subset is in force: once the backends and
	// (but for LowChurn) the client's coordinate are known. Until then
	// Backends, Used, Subset and Changes are zero.
	Ready bool `json:"ready"`
	// Rank and Count are the client's coordinate: client Rank (from 0)
	// of Count clients; -1 and 0 until the peers are known (which a
	// LowChurn subset does not wait for).
	Rank  int `json:"rank"`
	Count int `json:"count"`
	// Size is the subset size asked for.
	Size int `json:"size"`
	// Design is how the subset is chosen: subset.Design's String,
	// "balanced" or "low-churn".
	Design string `json:"design"`
	// Backends is how many backends discovery offers; Used how many of
	// them the subset holds (Size, or all of them when there are fewer).
	Backends int `json:"backends"`
	Used     int `json:"used"`
	// Subset holds the addresses of the backends used, in the order
	// subset.Stats gives them (ring order, or highest score first for
	// LowChurn).
	Subset []string `json:"subset"`
	// Changes counts the backends that entered or left the subset since
	// the subsetting publisher began.
	Changes uint64 `json:"changes"`
	// Changed is when the subset last changed (or was first published),
	// and ChangedAgeMs how long before the snapshot that was; both are
	// absent until Ready.
	Changed      *time.Time `json:"changed,omitempty"`
	ChangedAgeMs *float64   `json:"changedAgeMs,omitempty"`
}

// subsetStatus is the JSON view of st at now.
func subsetStatus(st subset.Stats, now time.Time) *SubsetStatus {
	s := &SubsetStatus{
		Ready: st.Ready, Rank: st.Rank, Count: st.Count, Size: st.Size, Design: st.Design.String(),
		Backends: st.Backends, Used: len(st.Subset), Subset: st.Subset, Changes: st.Changes,
	}
	if s.Subset == nil {
		s.Subset = []string{}
	}
	if !st.Changed.IsZero() {
		changed := st.Changed
		ageMs := max(0, now.Sub(changed).Seconds()*1000)
		s.Changed, s.ChangedAgeMs = &changed, &ageMs
	}
	return s
}
