package subset

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
)

// Design is how a client chooses its subset. Every client of a fleet must
// use the same Design (and the same subset size).
type Design uint8

const (
	// Balanced is Assign's ring, the default: every backend has
	// ⌊N·d/M⌋ or ⌈N·d/M⌉ clients, and a backend or client coming or
	// going moves about three times the minimum of client–backend pairs
	// (each client changes at most one backend).
	Balanced Design = iota
	// LowChurn is AssignLowChurn's rendezvous hashing (gRPC A68's random
	// subsetting, with a salt that is the client's identity): a backend
	// leaving moves only the clients that used it, one joining moves only
	// the clients that take it, and a client coming or going moves no
	// other client. Connections per backend are only as even as chance
	// makes them: about N·d/M ± 2·√(N·d/M) (at 300 clients, 100 backends
	// and d = 10, from about 18 to about 44 where Balanced keeps 30).
	LowChurn
)

// String returns "balanced" or "low-churn".
func (d Design) String() string {
	switch d {
	case Balanced:
		return "balanced"
	case LowChurn:
		return "low-churn"
	}
	return "Design(" + strconv.Itoa(int(d)) + ")"
}

// Option configures New.
type Option func(*config) error

type config struct {
	design Design
}

// WithDesign chooses how the client picks its subset: Balanced (the
// default) or LowChurn. Any other value is an error wrapping
// ErrInvalidArgument.
func WithDesign(d Design) Option {
	return func(c *config) error {
		if d != Balanced && d != LowChurn {
			return fmt.Errorf("%w: unknown subset design %d", ErrInvalidArgument, d)
		}
		c.design = d
		return nil
	}
}

// AssignLowChurn returns the size backends that the client named client
// uses under the LowChurn design: every backend gets a score from a stable
// hash of the client's name and the backend's address, and the client
// takes the size backends of highest score, highest first (rendezvous
// hashing). The client's name must be its own for its life and different
// from every other client's; a Publisher uses the self ID of a Peers
// coordinate, or the rank of a Fixed one in decimal.
//
// Because each backend's score does not depend on the other backends, a
// backend that leaves changes only the subsets that held it (each takes
// the next-best backend in its place), a backend that joins enters only
// the subsets where it scores among the top size (each drops its
// lowest), and no client's subset depends on the other clients. The
// price is balance: which clients take a backend is chance, so the
// numbers of clients per backend spread as a binomial's do.
//
// backends must be distinct and not empty, client not empty and size >= 1;
// anything else is an error wrapping ErrInvalidArgument. When there are no
// more than size backends, it is all of them (highest score first).
func AssignLowChurn(backends []string, client string, size int) ([]string, error) {
	switch {
	case size < 1:
		return nil, fmt.Errorf("%w: subset size %d, want at least 1", ErrInvalidArgument, size)
	case client == "":
		return nil, fmt.Errorf("%w: empty client name", ErrInvalidArgument)
	}
	if err := checkBackends(backends); err != nil {
		return nil, err
	}
	return rendezvous(backends, client, size, func(s string) string { return s }), nil
}

// rendezvous returns the size items of highest score for client (all of
// them when there are no more than size), highest first. Two items with
// the same key count once.
func rendezvous[T any](items []T, client string, size int, key func(T) string) []T {
	type scored struct {
		s   uint64
		k   string
		val T
	}
	salt := hash(client)
	ss := make([]scored, len(items))
	for n, it := range items {
		k := key(it)
		ss[n] = scored{mix64(salt ^ hash(k)), k, it}
	}
	slices.SortFunc(ss, func(a, b scored) int {
		if c := cmp.Compare(b.s, a.s); c != 0 {
			return c
		}
		return cmp.Compare(a.k, b.k)
	})
	out := make([]T, 0, min(size, len(ss)))
	for n := 0; n < len(ss) && len(out) < size; n++ {
		if n > 0 && ss[n].k == ss[n-1].k {
			continue
		}
		out = append(out, ss[n].val)
	}
	return out
}

// mix64 is splitmix64's finisher: a bijection on 64 bits in which every
// input bit moves about half the output bits, so that the scores one
// backend gets from different clients behave as independent draws.
func mix64(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
