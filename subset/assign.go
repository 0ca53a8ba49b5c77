package subset

import (
	"cmp"
	"fmt"
	"slices"
)

// Assign returns the backends that the client at position rank among count
// clients uses when each client uses size of them.
//
// The backends are placed on a ring in the order of a stable hash of their
// addresses, evenly spaced whatever the hashes; the clients are placed
// evenly on the same ring, client rank at rank·M/count backends from the
// origin (M = len(backends)), and each takes the size backends that
// follow its place. So every backend is taken by ⌊count·size/M⌋ or
// ⌈count·size/M⌉ clients, and a client that spreads its requests evenly
// over its subset gives every backend the same load within that ±1.
//
// The result depends only on the set of addresses, not on their order,
// so every client computes the same ring. It is in ring order. When there
// are no more than size backends, it is all of them (in ring order).
//
// backends must be distinct and not empty; 0 <= rank < count; size >= 1.
// Anything else is an error wrapping ErrInvalidArgument.
func Assign(backends []string, rank, count, size int) ([]string, error) {
	if err := checkCoordinate(rank, count, size); err != nil {
		return nil, err
	}
	if err := checkBackends(backends); err != nil {
		return nil, err
	}
	return window(ringOrder(backends, func(s string) string { return s }), rank, count, size), nil
}

// checkBackends validates the addresses given to Assign or AssignLowChurn:
// none empty, none twice.
func checkBackends(backends []string) error {
	sorted := slices.Sorted(slices.Values(backends))
	for n, b := range sorted {
		switch {
		case b == "":
			return fmt.Errorf("%w: empty backend address", ErrInvalidArgument)
		case n > 0 && b == sorted[n-1]:
			return fmt.Errorf("%w: duplicate backend address %s", ErrInvalidArgument, b)
		}
	}
	return nil
}

// checkCoordinate validates a client's coordinate and subset size.
func checkCoordinate(rank, count, size int) error {
	switch {
	case size < 1:
		return fmt.Errorf("%w: subset size %d, want at least 1", ErrInvalidArgument, size)
	case count < 1:
		return fmt.Errorf("%w: client count %d, want at least 1", ErrInvalidArgument, count)
	case rank < 0 || rank >= count:
		return fmt.Errorf("%w: client rank %d, want 0 <= rank < %d", ErrInvalidArgument, rank, count)
	}
	return nil
}

// ringOrder returns a copy of items sorted by the hash of their key, ties
// (which need a 64-bit collision) broken by the key itself. Equal keys end
// up side by side.
//
// Why a hash and not the addresses' own order: addresses that sort
// together (10.0.0.1, 10.0.0.2, … on one rack or host) would otherwise sit
// side by side on the ring and fall into the same clients' subsets, so a
// rack lost would take whole subsets with it.
func ringOrder[T any](items []T, key func(T) string) []T {
	type keyed struct {
		h   uint64
		k   string
		val T
	}
	ks := make([]keyed, len(items))
	for n, it := range items {
		k := key(it)
		ks[n] = keyed{hash(k), k, it}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := cmp.Compare(a.h, b.h); c != 0 {
			return c
		}
		return cmp.Compare(a.k, b.k)
	})
	out := make([]T, len(ks))
	for n, k := range ks {
		out[n] = k.val
	}
	return out
}

// window returns the size items of ring that follow client rank's place,
// ⌊rank·M/count⌋, wrapping around; all of ring when it holds no more
// than size. The arguments have been checked.
func window[T any](ring []T, rank, count, size int) []T {
	m := len(ring)
	if m <= size {
		return slices.Clone(ring)
	}
	// rank < count and m fit in an int each; their product may not fit in
	// 32 bits, so compute in 64.
	start := int(int64(rank) * int64(m) / int64(count))
	out := make([]T, 0, size)
	for k := range size {
		out = append(out, ring[(start+k)%m])
	}
	return out
}

// hash is FNV-1a over s, finished by a 64-bit mixer (splitmix64's) so that
// addresses differing in their last byte land far apart. It allocates
// nothing and is the same on every platform and Go release: clients built
// by different releases must agree on the ring.
func hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for n := 0; n < len(s); n++ {
		h ^= uint64(s[n])
		h *= 1099511628211
	}
	return mix64(h)
}
