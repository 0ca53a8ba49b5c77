package strategy

import "runtime"

// RebuildWeights recomputes a WeightedRoundRobin picker's schedule now, as
// the goroutine a stale schedule starts does, and waits for it: tests on a
// fake clock use it instead of waiting for that goroutine.
func RebuildWeights(p Picker) {
	w := p.(*wrrPicker)
	for !w.busy.CompareAndSwap(false, true) {
		runtime.Gosched()
	}
	w.rebuild()
}
