package strategy

import "math/bits"

// fastMod computes x mod d for 32-bit x and a fixed d without a division
// instruction (Lemire, Kaser and Kurz, "Faster remainder by direct
// computation", 2019): with m = ⌈2⁶⁴/d⌉, x mod d is the high word of
// (m·x mod 2⁶⁴)·d. Round-robin pickers take one remainder per request, and a
// 64-bit division costs more than the rest of the pick.
type fastMod struct {
	m uint64
	d uint64
}

func newFastMod(d uint32) fastMod {
	return fastMod{m: ^uint64(0)/uint64(d) + 1, d: uint64(d)}
}

func (f fastMod) of(x uint32) int {
	hi, _ := bits.Mul64(f.m*uint64(x), f.d)
	return int(hi)
}
