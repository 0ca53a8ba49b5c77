package strategy

// RebuildWeights recomputes a WeightedRoundRobin picker's schedule as of
// now, as the pick that finds it a period old does.
func RebuildWeights(p Picker, now int64) {
	w := p.(*wrrPicker)
	w.fill(w.memo.spare, now)
}
