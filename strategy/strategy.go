package strategy

// Strategy turns a set of hosts into a Picker. NewPicker is called when the
// set changes (a host joins or leaves, or a weight changes), so it may do
// expensive work; the Picker it returns serves every request until the next
// change.
//
// hosts is never modified by the caller after the call, may be empty, and
// keeps its order: Pick returns an index into it. Each strategy of this
// package is a typed config value whose zero value means its documented
// defaults, for example PeakEWMA{} or EpsilonGreedy{Epsilon: 0.05}.
type Strategy interface {
	NewPicker(hosts []*Host) Picker
	// Name identifies the strategy in status pages and reports.
	Name() string
}

// Picker chooses one host per request. Pick returns an index into the hosts
// the picker was built from, or -1 when there are none. It must be safe for
// concurrent use, must not allocate, and must not take a lock shared by all
// requests.
type Picker interface {
	Pick() int
}

// none is the picker over an empty set.
type none struct{}

func (none) Pick() int { return -1 }

// single is the picker over a one-host set, whatever the strategy.
type single struct{}

func (single) Pick() int { return 0 }

// trivial returns a picker for sets of zero or one host, or nil.
func trivial(hosts []*Host) Picker {
	switch len(hosts) {
	case 0:
		return none{}
	case 1:
		return single{}
	}
	return nil
}
