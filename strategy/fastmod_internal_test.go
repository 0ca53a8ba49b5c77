package strategy

import (
	"math"
	"testing"
)

func TestFastModMatchesRemainder(t *testing.T) {
	for _, d := range []uint32{1, 2, 3, 7, 10, 1000, 65535, 65536, 1<<31 + 11, math.MaxUint32} {
		f := newFastMod(d)
		for _, x := range []uint32{0, 1, 2, d - 1, d, d + 1, 12345, 1 << 31, math.MaxUint32 - 1, math.MaxUint32} {
			if got, want := f.of(x), int(x%d); got != want {
				t.Fatalf("%d mod %d = %d, want %d", x, d, got, want)
			}
		}
		for x := uint32(0); x < 5000; x++ {
			if got, want := f.of(x*2654435761), int((x*2654435761)%d); got != want {
				t.Fatalf("%d mod %d = %d, want %d", x*2654435761, d, got, want)
			}
		}
	}
}

func FuzzFastMod(f *testing.F) {
	f.Add(uint32(7), uint32(100))
	f.Fuzz(func(t *testing.T, x, d uint32) {
		if d == 0 {
			return
		}
		if got, want := newFastMod(d).of(x), int(x%d); got != want {
			t.Fatalf("%d mod %d = %d, want %d", x, d, got, want)
		}
	})
}
