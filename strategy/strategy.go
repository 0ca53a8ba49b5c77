package strategy

// Strategy turns a set of backends into a Picker. NewPicker is called when
// the set changes (a backend joins or leaves, or a weight changes), so it may
// do expensive work; the Picker it returns serves every request until the
// next change.
//
// hosts is never modified by the caller after the call, may be empty, and
// keeps its order: Pick returns an index into it.
type Strategy interface {
	NewPicker(hosts []*Stats) Picker
	// Name identifies the strategy in status pages and reports.
	Name() string
}

// Picker chooses one backend per request. Pick returns an index into the
// hosts the picker was built from, or -1 when there are none. It must be safe
// for concurrent use, must not allocate, and must not take a lock shared by
// all requests.
type Picker interface {
	Pick() int
}

// Func adapts a function to the Strategy interface.
type Func struct {
	// Label is returned by Name.
	Label string
	// Build is called by NewPicker.
	Build func(hosts []*Stats) Picker
}

// NewPicker implements Strategy.
func (f Func) NewPicker(hosts []*Stats) Picker { return f.Build(hosts) }

// Name implements Strategy.
func (f Func) Name() string { return f.Label }

// PickerFunc adapts a function to the Picker interface.
type PickerFunc func() int

// Pick implements Picker.
func (f PickerFunc) Pick() int { return f() }

// none is the picker over an empty set.
type none struct{}

func (none) Pick() int { return -1 }

// single is the picker over a one-backend set, whatever the strategy.
type single struct{}

func (single) Pick() int { return 0 }

// trivial returns a picker for sets of zero or one backend, or nil.
func trivial(hosts []*Stats) Picker {
	switch len(hosts) {
	case 0:
		return none{}
	case 1:
		return single{}
	}
	return nil
}
