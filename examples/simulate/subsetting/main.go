// Command subsetting measures lbkit's deterministic subsetting (package
// subset) against the designs it was chosen over, for a fleet of clients
// that each use only some of the backends:
//
//   - ring: subset.Assign, lbkit's design (backends evenly spaced on a ring
//     in stable-hash order, clients evenly spaced on it, each taking the
//     size backends after its place);
//   - google: the SRE book's deterministic subsetting (clients in rounds of
//     M/size, each round a shuffle of the backends seeded by the round);
//   - low-churn: subset.AssignLowChurn, lbkit's other design, which is gRPC
//     A68's random subsetting (each client ranks the backends by a hash
//     salted with its own name and takes the first size);
//   - hashring: consistent hashing (backends at their hash on a ring, the
//     clients evenly spaced, each taking the next size backends);
//   - reshuffle: the naive design (one shuffle seeded by the whole backend
//     set, cut into windows), which any change reshuffles.
//
// For each it prints connections per backend, the per-backend request load
// (max/min) when every client spreads its requests evenly over its subset
// and when it picks at random per request, and how many client–backend
// pairs change when a backend leaves or joins and when a client leaves or
// joins, next to the minimum. Every figure is the median over -seeds runs
// with the min–max range; a seed draws the backend addresses, which
// backend or client leaves, and the low-churn design's salts.
//
//	go run ./examples/simulate/subsetting [-clients 300] [-backends 100] [-size 10] [-seeds 5] [-seed 1]
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"

	"github.com/seed41aebe0c/lbkit/subset"
)

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "subsetting:", err)
		os.Exit(1)
	}
}

// options are the command's settings.
type options struct {
	clients, backends, size int
	seeds                   int
	seed                    uint64
	requests                int // per client, for the random-pick load
}

func parseFlags(args []string, errOut io.Writer) (options, error) {
	fs := flag.NewFlagSet("subsetting", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var o options
	fs.IntVar(&o.clients, "clients", 300, "clients N")
	fs.IntVar(&o.backends, "backends", 100, "backends M")
	fs.IntVar(&o.size, "size", 10, "subset size d: backends per client")
	fs.IntVar(&o.seeds, "seeds", 5, "runs, seeds -seed and up; figures are the median [min–max]")
	fs.Uint64Var(&o.seed, "seed", 1, "first seed")
	fs.IntVar(&o.requests, "requests", 10000, "requests per client for the random-pick load")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.clients < 2 || o.backends < 2 || o.size < 1 || o.size >= o.backends || o.seeds < 1 || o.requests < 1 {
		err := errors.New("want -clients and -backends at least 2, 1 <= -size < -backends, -seeds and -requests at least 1")
		fmt.Fprintln(errOut, "subsetting:", err)
		return o, err
	}
	return o, nil
}

// algorithm assigns client rank of count (whose identity is id) its
// subset of backends.
type algorithm struct {
	name   string
	assign func(w *world, backends []string, id string, rank, count, size int) []string
}

// world is one seed's randomness: the salts of the low-churn design.
type world struct {
	seed uint64
}

func algorithms() []algorithm {
	return []algorithm{
		{"ring", func(_ *world, backends []string, _ string, rank, count, size int) []string {
			s, err := subset.Assign(backends, rank, count, size)
			if err != nil {
				panic(err) // the command's own arguments are valid
			}
			return s
		}},
		{"google", google},
		{"low-churn", lowChurn},
		{"hashring", hashring},
		{"reshuffle", reshuffle},
	}
}

// google is the SRE book's algorithm: subset_count = M/size subsets per
// round; round = rank/subset_count shuffles the (sorted) backends with the
// round as seed; the client takes subset number rank%subset_count.
func google(_ *world, backends []string, _ string, rank, _, size int) []string {
	b := slices.Sorted(slices.Values(backends))
	subsets := len(b) / size
	round := rank / subsets
	r := rand.New(rand.NewPCG(uint64(round), 0x5eed))
	r.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
	id := rank % subsets
	return b[id*size : (id+1)*size]
}

// lowChurn is subset.AssignLowChurn, lbkit's LowChurn design and gRPC
// A68's random subsetting: rank the backends by a hash salted with the
// client's name (here the seed and the client's identity, so that each
// seed draws other salts) and take the first size. A client keeps its name
// for its life, so its rank does not matter.
func lowChurn(w *world, backends []string, id string, _, _, size int) []string {
	s, err := subset.AssignLowChurn(backends, fmt.Sprintf("%d/%s", w.seed, id), size)
	if err != nil {
		panic(err) // the command's own arguments are valid
	}
	return s
}

// hashring places each backend at its hash on [0, 2^64) and client rank
// at rank/count of the way round; the client takes the size backends at
// or after its place.
func hashring(_ *world, backends []string, _ string, rank, count, size int) []string {
	b := slices.Clone(backends)
	slices.SortFunc(b, func(x, y string) int { return cmp.Compare(fnv(x), fnv(y)) })
	place := uint64(float64(rank) / float64(count) * (1 << 63) * 2)
	start, _ := slices.BinarySearchFunc(b, place, func(x string, p uint64) int { return cmp.Compare(fnv(x), p) })
	out := make([]string, 0, size)
	for k := range size {
		out = append(out, b[(start+k)%len(b)])
	}
	return out
}

// reshuffle shuffles the backends with a seed made from the whole set and
// cuts the result into evenly placed windows: balanced, but any change of
// the set is a new shuffle.
func reshuffle(_ *world, backends []string, _ string, rank, count, size int) []string {
	b := slices.Sorted(slices.Values(backends))
	r := rand.New(rand.NewPCG(fnv(strings.Join(b, ",")), 0x5eed))
	r.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
	start := rank * len(b) / count
	out := make([]string, 0, size)
	for k := range size {
		out = append(out, b[(start+k)%len(b)])
	}
	return out
}

// fnv is 64-bit FNV-1a with a final mix (as package subset uses).
func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for n := 0; n < len(s); n++ {
		h ^= uint64(s[n])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// fleet is an assignment: client identity → its subset.
type fleet map[string][]string

// assignAll assigns every client (identities sorted: rank = position).
func assignAll(w *world, a algorithm, backends, clients []string, size int) fleet {
	f := make(fleet, len(clients))
	for rank, id := range clients {
		f[id] = a.assign(w, backends, id, rank, len(clients), size)
	}
	return f
}

// connections counts the clients of each backend.
func (f fleet) connections(backends []string) map[string]int {
	c := make(map[string]int, len(backends))
	for _, b := range backends {
		c[b] = 0
	}
	for _, s := range f {
		for _, b := range s {
			c[b]++
		}
	}
	return c
}

// evenLoad is each backend's load when every client sends one unit spread
// evenly over its subset.
func (f fleet) evenLoad(backends []string) map[string]float64 {
	l := make(map[string]float64, len(backends))
	for _, b := range backends {
		l[b] = 0
	}
	for _, s := range f {
		for _, b := range s {
			l[b] += 1 / float64(len(s))
		}
	}
	return l
}

// randomLoad is each backend's request count when every client sends n
// requests, each to a member of its subset drawn at random.
func (f fleet) randomLoad(backends []string, n int, r *rand.Rand) map[string]float64 {
	l := make(map[string]float64, len(backends))
	for _, b := range backends {
		l[b] = 0
	}
	for _, id := range slices.Sorted(func(yield func(string) bool) {
		for id := range f {
			if !yield(id) {
				return
			}
		}
	}) {
		s := f[id]
		for range n {
			l[s[r.IntN(len(s))]]++
		}
	}
	return l
}

// moved counts the client–backend pairs in after that were not in before,
// over the clients present in both.
func moved(before, after fleet) int {
	n := 0
	for id, s := range after {
		old, ok := before[id]
		if !ok {
			continue
		}
		for _, b := range s {
			if !slices.Contains(old, b) {
				n++
			}
		}
	}
	return n
}

// using counts the clients whose subset holds backend b.
func using(f fleet, b string) int {
	n := 0
	for _, s := range f {
		if slices.Contains(s, b) {
			n++
		}
	}
	return n
}

func spread[V int | float64](m map[string]V) (lo, hi V) {
	first := true
	for _, v := range m {
		if first || v < lo {
			lo = v
		}
		if first || v > hi {
			hi = v
		}
		first = false
	}
	return lo, hi
}

// figures are one seed's measurements of one algorithm, by row name.
type figures map[string]float64

// rows are the table's rows, in order, with how to print them.
var rows = []struct{ key, label, format string }{
	{"connMin", "connections per backend, min", "%.0f"},
	{"connMax", "connections per backend, max", "%.0f"},
	{"evenLoad", "load max/min, even spread", "%.3f"},
	{"randLoad", "load max/min, random pick per request", "%.3f"},
	{"rmMoved", "backend leaves: pairs changed", "%.0f"},
	{"rmMin", "  minimum (its clients)", "%.0f"},
	{"rmConn", "  then connections max-min", "%.0f"},
	{"addMoved", "backend joins: pairs changed", "%.0f"},
	{"addMin", "  minimum (its new clients)", "%.0f"},
	{"addConn", "  then connections max-min", "%.0f"},
	{"cLeaveMoved", "client leaves: pairs changed (others)", "%.0f"},
	{"cLeaveConn", "  then connections max-min", "%.0f"},
	{"cJoinMoved", "client joins: pairs changed (others)", "%.0f"},
	{"cJoinConn", "  then connections max-min", "%.0f"},
}

// measure runs every situation for algorithm a on seed's world.
func measure(o options, a algorithm, seed uint64) figures {
	r := rand.New(rand.NewPCG(seed, 0xc0ffee))
	w := &world{seed: seed}
	backends := make([]string, 0, o.backends)
	seen := map[string]bool{}
	addr := func() string {
		for {
			s := fmt.Sprintf("10.%d.%d.%d:8080", r.IntN(256), r.IntN(256), 1+r.IntN(254))
			if !seen[s] {
				seen[s] = true
				return s
			}
		}
	}
	for range o.backends {
		backends = append(backends, addr())
	}
	clients := make([]string, o.clients)
	for n := range clients {
		clients[n] = fmt.Sprintf("client-%05d", n)
	}
	f := figures{}
	base := assignAll(w, a, backends, clients, o.size)
	lo, hi := spread(base.connections(backends))
	f["connMin"], f["connMax"] = float64(lo), float64(hi)
	elo, ehi := spread(base.evenLoad(backends))
	f["evenLoad"] = ratio(elo, ehi)
	rlo, rhi := spread(base.randomLoad(backends, o.requests, rand.New(rand.NewPCG(seed, 7))))
	f["randLoad"] = ratio(rlo, rhi)

	gone := r.IntN(len(backends))
	fewer := slices.Delete(slices.Clone(backends), gone, gone+1)
	after := assignAll(w, a, fewer, clients, o.size)
	f["rmMoved"], f["rmMin"] = float64(moved(base, after)), float64(using(base, backends[gone]))
	f["rmConn"] = maxMinusMin(after.connections(fewer))

	more := append(slices.Clone(backends), addr())
	after = assignAll(w, a, more, clients, o.size)
	f["addMoved"], f["addMin"] = float64(moved(base, after)), float64(using(after, more[len(more)-1]))
	f["addConn"] = maxMinusMin(after.connections(more))

	leaver := r.IntN(len(clients))
	stay := slices.Delete(slices.Clone(clients), leaver, leaver+1)
	after = assignAll(w, a, backends, stay, o.size)
	f["cLeaveMoved"], f["cLeaveConn"] = float64(moved(base, after)), maxMinusMin(after.connections(backends))

	// A joiner's identity sorts at a random place among the others.
	at := r.IntN(len(clients) + 1)
	joined := slices.Insert(slices.Clone(clients), at, "")
	for n := range joined { // renumber in sorted order, keeping identities
		if n < at {
			joined[n] = clients[n]
		} else if n > at {
			joined[n] = clients[n-1]
		}
	}
	joined[at] = joinerID(joined, at)
	after = assignAll(w, a, backends, joined, o.size)
	f["cJoinMoved"], f["cJoinConn"] = float64(moved(base, after)), maxMinusMin(after.connections(backends))
	return f
}

// joinerID is an identity that sorts between joined[at-1] and joined[at+1].
func joinerID(joined []string, at int) string {
	if at == 0 {
		return "client-" // sorts before "client-00000"
	}
	return joined[at-1] + "+"
}

func ratio(lo, hi float64) float64 {
	if lo == 0 {
		return 0 // printed as ∞: a backend with no load
	}
	return hi / lo
}

func maxMinusMin(m map[string]int) float64 {
	lo, hi := spread(m)
	return float64(hi - lo)
}

func run(o options, out io.Writer) error {
	algs := algorithms()
	res := make([][]figures, len(algs)) // [algorithm][seed]
	for i, a := range algs {
		for s := range o.seeds {
			res[i] = append(res[i], measure(o, a, o.seed+uint64(s)))
		}
	}
	fmt.Fprintf(out, "%d clients × %d backends, subset size %d (N·d/M = %.1f); median [min–max] over %d seeds\n\n",
		o.clients, o.backends, o.size, float64(o.clients*o.size)/float64(o.backends), o.seeds)
	tw := 42
	fmt.Fprintf(out, "%-*s", tw, "")
	for _, a := range algs {
		fmt.Fprintf(out, " %22s", a.name)
	}
	fmt.Fprintln(out)
	for _, row := range rows {
		fmt.Fprintf(out, "%-*s", tw, row.label)
		for i := range algs {
			vals := make([]float64, len(res[i]))
			for s, f := range res[i] {
				vals[s] = f[row.key]
			}
			fmt.Fprintf(out, " %22s", summary(vals, row.format))
		}
		fmt.Fprintln(out)
	}
	return nil
}

// summary prints the median and, when the seeds disagree, [min–max].
func summary(vals []float64, format string) string {
	slices.Sort(vals)
	show := func(v float64) string {
		if v == 0 && strings.Contains(format, ".3") {
			return "∞"
		}
		return fmt.Sprintf(format, v)
	}
	med := vals[len(vals)/2]
	if len(vals)%2 == 0 {
		med = (vals[len(vals)/2-1] + vals[len(vals)/2]) / 2
	}
	if vals[0] == vals[len(vals)-1] {
		return show(med)
	}
	return fmt.Sprintf("%s [%s–%s]", show(med), show(vals[0]), show(vals[len(vals)-1]))
}
