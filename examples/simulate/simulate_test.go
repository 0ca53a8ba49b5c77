package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// quick returns options for a short run of the matching scenarios and
// strategies.
func quick(t *testing.T, scale float64, scen, strat string) options {
	t.Helper()
	return options{
		scale:    scale,
		seed:     7,
		scenario: regexp.MustCompile(scen),
		strategy: regexp.MustCompile(strat),
		svgDir:   t.TempDir(),
		parallel: 2,
	}
}

// results runs o and returns the results of its only scenario by
// contestant name.
func results(t *testing.T, o options) map[string]*result {
	t.Helper()
	out, err := simulate(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 {
		t.Fatalf("%d scenarios ran, want 1", len(out))
	}
	byName := map[string]*result{}
	for _, r := range out[0].results {
		byName[r.contestant.name] = r
	}
	return byName
}

// custom runs one made-up scenario for contestant names.
func custom(t *testing.T, sc *scenario, names ...string) map[string]*result {
	t.Helper()
	byName := map[string]*result{}
	for _, c := range contestants() {
		for _, n := range names {
			if c.name != n {
				continue
			}
			s, err := newSim(sc, c, 3, 1)
			if err != nil {
				t.Fatal(err)
			}
			byName[n] = summarize(sc, c, s.run(), 1)
		}
	}
	if len(byName) != len(names) {
		t.Fatalf("contestants %v not all found", names)
	}
	return byName
}

func TestSameSeedSameResults(t *testing.T) {
	o := quick(t, 0.05, "bad-and-slow|join-leave", "peak-ewma$|round-robin|softmax")
	var outs [2]bytes.Buffer
	for i := range outs {
		if _, err := run(o, &outs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if outs[0].String() != outs[1].String() {
		t.Fatalf("two runs with seed %d differ:\n%s\n---\n%s", o.seed, outs[0].String(), outs[1].String())
	}
	// Fewer strategies or another parallelism change nothing either.
	o.strategy, o.parallel = regexp.MustCompile("peak-ewma$"), 1
	var one bytes.Buffer
	if _, err := run(o, &one); err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^ *peak-ewma .*$`)
	fields := func(s string) string { return fmt.Sprint(strings.Fields(strings.Join(line.FindAllString(s, -1), " "))) }
	if a, b := fields(outs[0].String()), fields(one.String()); a != b {
		t.Fatalf("peak-ewma alone:\n%v\nwith others:\n%v", b, a)
	}
	o.seed = 8
	var other bytes.Buffer
	if _, err := run(o, &other); err != nil {
		t.Fatal(err)
	}
	if other.String() == one.String() {
		t.Fatal("another seed gave the same results")
	}
}

func TestReferenceScenarioSeparatesStrategies(t *testing.T) {
	rs := results(t, quick(t, 0.2, "^bad-and-slow$", "peak-ewma$|round-robin"))
	oracle, rr, pe := rs["oracle"], rs["round-robin (go-kit)"], rs["peak-ewma"]
	if oracle.firstOK != 1 {
		t.Errorf("the oracle never picks the failing backend, yet %.4f of first attempts succeeded", oracle.firstOK)
	}
	// Round-robin sends a tenth of the calls to the backend that fails half.
	if rr.firstOK < 0.93 || rr.firstOK > 0.97 {
		t.Errorf("round-robin first-attempt success %.4f, want about 0.95", rr.firstOK)
	}
	if pe.firstOK < 0.99 || pe.p99 > 1.5*oracle.p99 {
		t.Errorf("peak-ewma: success %.4f, p99 %.2fms (oracle %.2fms)", pe.firstOK, pe.p99, oracle.p99)
	}
}

func TestCapacityQueuesCalls(t *testing.T) {
	// Four clients, one backend serving one call at a time in 1 ms on
	// average: every call waits for the three others, so a call takes
	// 4 ms on average.
	sc := &scenario{name: "queue", clients: 4, duration: 20 * time.Second,
		backends: []backendSpec{{lat: expDist(time.Millisecond), capacity: 1}}}
	r := custom(t, sc, "round-robin (go-kit)")["round-robin (go-kit)"]
	if math.Abs(r.mean-4) > 0.2 {
		t.Fatalf("mean latency %.2fms, want about 4ms", r.mean)
	}
	sc.backends[0].capacity = 4
	if r := custom(t, sc, "round-robin (go-kit)")["round-robin (go-kit)"]; math.Abs(r.mean-1) > 0.05 {
		t.Fatalf("with room for everyone: mean latency %.2fms, want about 1ms", r.mean)
	}
}

func TestRetriesPickAgain(t *testing.T) {
	bs := healthy(2)
	bs[0].fail = 1
	sc := &scenario{name: "retry", clients: 1, duration: 20 * time.Second, backends: bs}
	rs := custom(t, sc, "random (go-kit)", "round-robin (go-kit)")
	// Random picks anew for each attempt and may repeat the dead backend:
	// a request fails only if all three picks land on it.
	if r := rs["random (go-kit)"]; math.Abs(r.firstOK-0.5) > 0.02 || math.Abs(r.finalOK-0.875) > 0.02 || math.Abs(r.attempts-1.75) > 0.05 {
		t.Errorf("random: first %.3f, final %.3f, attempts %.3f; want 0.5, 0.875, 1.75", r.firstOK, r.finalOK, r.attempts)
	}
	// With one client, round-robin's second pick is always the other
	// backend. (With more, their picks interleave, and it is not.)
	if r := rs["round-robin (go-kit)"]; r.finalOK != 1 {
		t.Errorf("round-robin: final success %.4f, want 1", r.finalOK)
	}
}

func TestTimeoutFailsSlowRequests(t *testing.T) {
	sc := &scenario{name: "slow", clients: 2, duration: 30 * time.Second,
		backends: []backendSpec{{lat: expDist(time.Hour), capacity: 10}}}
	r := custom(t, sc, "round-robin (go-kit)")["round-robin (go-kit)"]
	if r.finalOK > 0.01 || math.Abs(r.p50-float64(retryTimeout/time.Millisecond)) > 1 {
		t.Fatalf("final success %.3f, p50 %.1fms; want nearly none, and the 1 s deadline", r.finalOK, r.p50)
	}
}

func TestLeavingBackendGetsNoMoreTraffic(t *testing.T) {
	bs := healthy(3)
	bs[2].absent = true
	sc := &scenario{name: "churn", clients: 4, duration: 6 * time.Second, backends: bs,
		events: []scenarioEvent{join(2*time.Second, 2), leave(4*time.Second, 0)}}
	for name, r := range custom(t, sc, "peak-ewma", "round-robin (go-kit)", "oracle") {
		tr := r.m.traffic
		before, after := int(2*time.Second)/int(binWidth), int(4*time.Second)/int(binWidth)
		for b := range tr {
			switch {
			case b < before && tr[b][2] != 0:
				t.Fatalf("%s: b2 got calls before it joined", name)
			case b >= after && tr[b][0] != 0:
				t.Fatalf("%s: b0 got calls after it left", name)
			}
		}
		if r.finalOK != 1 {
			t.Errorf("%s: a backend leaving cleanly cost requests: %.4f succeeded", name, r.finalOK)
		}
		if len(r.m.marks) != 2 {
			t.Errorf("%s: %d events marked, want 2", name, len(r.m.marks))
		}
	}
}

func TestWatchedBackendTimes(t *testing.T) {
	// turns-bad, shortened, with half the clients.
	sc := &scenario{name: "turns-bad-short", clients: 4, duration: 45 * time.Second, backends: healthy(10),
		events: []scenarioEvent{setFail(5*time.Second, 3, 1), setFail(15*time.Second, 3, 0)},
		watch:  &watch{backend: 3, bad: 5 * time.Second, good: 15 * time.Second}}
	rs := custom(t, sc, "peak-ewma", "round-robin (go-kit)")
	if r := rs["round-robin (go-kit)"]; !math.IsInf(r.shun, 1) {
		t.Errorf("round-robin shunned the bad backend after %.1fs; it cannot", r.shun)
	}
	t.Logf("peak-ewma: shunned after %.1fs, back after %.1fs", rs["peak-ewma"].shun, rs["peak-ewma"].back)
	if r := rs["peak-ewma"]; r.shun > 2 || r.back > 30 {
		t.Errorf("peak-ewma: shunned after %.1fs, back after %.1fs", r.shun, r.back)
	}
}

func TestChartsAreWellFormed(t *testing.T) {
	o := quick(t, 0.05, "flapping|join-leave", "peak-ewma$|ucb1")
	var out bytes.Buffer
	if _, err := run(o, &out); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"flapping", "join-leave"} {
		path := filepath.Join(o.svgDir, "simulate-"+name+".svg")
		if !strings.Contains(out.String(), path) {
			t.Errorf("output does not name %s", path)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(f)
		paths := 0
		for {
			tok, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if el, ok := tok.(xml.StartElement); ok && el.Name.Local == "path" {
				paths++
			}
		}
		f.Close()
		if paths < 3 { // at least a band per strategy
			t.Errorf("%s has %d paths", path, paths)
		}
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-scenario", "("}, {"-strategy", "["}, {"-scale", "0"}, {"-parallel", "0"}, {"-seeds", "0"}, {"-nosuch"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	o, err := parseFlags([]string{"-scale", "0.5", "-seed", "9", "-svg", ""}, io.Discard)
	if err != nil || o.scale != 0.5 || o.seed != 9 || o.svgDir != "" {
		t.Fatalf("%+v, %v", o, err)
	}
	if _, err := simulate(options{scale: 1, scenario: regexp.MustCompile("nosuch"), strategy: regexp.MustCompile(""), parallel: 1}); err == nil {
		t.Fatal("no scenario matched, yet no error")
	}
}

func TestDistributionsHaveTheirMeans(t *testing.T) {
	s, err := newSim(scenarios()[0], contestants()[0], 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []dist{expDist(time.Millisecond), lognormalDist(time.Millisecond, 1), paretoDist(time.Millisecond, 2.5)} {
		var sum float64
		const n = 400000
		for range n {
			sum += d.sample(s.rng)
		}
		if mean := sum / n; math.Abs(mean-1e6)/1e6 > 0.03 {
			t.Errorf("%v: sample mean %.0fns", d, mean)
		}
	}
}

// A short run of the reference scenario: the oracle never fails, go-kit's
// round-robin pays for the backend that fails half its calls, and lbkit's
// default learns to avoid it.
func Example() {
	o := options{
		scale:    0.1,
		seed:     1,
		scenario: regexp.MustCompile("^bad-and-slow$"),
		strategy: regexp.MustCompile(`^(round-robin \(go-kit\)|peak-ewma)$`),
		parallel: 1,
	}
	out, err := simulate(o)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range out[0].results {
		fmt.Printf("%-21s first attempts ok: %4.1f%%\n", r.contestant.name, 100*r.firstOK)
	}
	// Output:
	// oracle                first attempts ok: 100.0%
	// round-robin (go-kit)  first attempts ok: 94.8%
	// peak-ewma             first attempts ok: 100.0%
}

// TestSeedsPrintMedians: -seeds runs every scenario once per seed, each
// run as the single-seed mode would, and prints each figure as the median
// over the seeds with its range.
func TestSeedsPrintMedians(t *testing.T) {
	o := quick(t, 0.1, "^turns-bad$", "^p2c$")
	o.seeds = 3
	runs, err := simulateSeeds(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 {
		t.Fatalf("%d runs, want 3", len(runs))
	}
	var p99 []*result
	for k, run := range runs {
		one := o
		one.seed = o.seed + uint64(k)
		single := results(t, one)["p2c"]
		got := run[0].results[1]
		if got.contestant.name != "p2c" || got.p99 != single.p99 || got.firstOK != single.firstOK {
			t.Errorf("seed %d: p99 %v, ok %v in the -seeds run, %v, %v alone", one.seed, got.p99, got.firstOK, single.p99, single.firstOK)
		}
		p99 = append(p99, got)
	}
	var out strings.Builder
	if n := reportSeeds(o, runs, &out); n != 6 {
		t.Errorf("%d simulations reported, want 6", n)
	}
	med := spreadOf([]float64{p99[0].p99, p99[1].p99, p99[2].p99})
	want := fmt.Sprintf("%.2fms [%.2f–%.2f]", med.med, med.lo, med.hi)
	if !strings.Contains(out.String(), "median over 3 seeds (7-9)") || !strings.Contains(out.String(), want) {
		t.Errorf("report lacks the seeds line or p2c's p99 %q:\n%s", want, out.String())
	}
	if s := spreadOf([]float64{3, 1, math.Inf(1), 2}); s.med != 2.5 || s.lo != 1 || !math.IsInf(s.hi, 1) {
		t.Errorf("spread of 3, 1, +Inf, 2: %+v", s)
	}
}

// TestCapacityScenarioUCB1DoesNotHerd: with identical backends that serve
// 4 calls at a time and queue the rest, UCB1's latencies stay near P2C's
// (it used to send a whole 100 ms interval to one backend: p50 7.5 ms
// against 0.73 ms).
func TestCapacityScenarioUCB1DoesNotHerd(t *testing.T) {
	r := results(t, quick(t, 0.2, "^capacity$", "^(p2c|ucb1)$"))
	p2c, ucb := r["p2c"], r["ucb1"]
	if ucb.p50 > 1.5*p2c.p50 || ucb.p99 > 1.2*p2c.p99 {
		t.Errorf("ucb1 p50 %.2fms p99 %.2fms; p2c p50 %.2fms p99 %.2fms", ucb.p50, ucb.p99, p2c.p50, p2c.p99)
	}
}

// TestPerClientBalancersLearnSeparately: with perClient every client has a
// host set of its own, so each must find the failing backend by itself;
// with one shared balancer the clients learn together. The settled column
// is the first-try success after the first 10% of requests.
func TestPerClientBalancersLearnSeparately(t *testing.T) {
	bs := healthy(20)
	bs[0].fail = 1
	for _, perClient := range []bool{false, true} {
		sc := &scenario{name: "per-client-small", clients: 4, duration: 5 * time.Second, backends: bs, perClient: perClient, settled: true}
		var c contestant
		for _, x := range contestants() {
			if x.name == "peak-ewma" {
				c = x
			}
		}
		s, err := newSim(sc, c, 3, 1)
		if err != nil {
			t.Fatal(err)
		}
		r := summarize(sc, c, s.run(), 1)
		want := 1
		if perClient {
			want = sc.clients
		}
		if len(s.sets) != want {
			t.Fatalf("perClient %v: %d balancers, want %d", perClient, len(s.sets), want)
		}
		for k := range s.sets {
			if st := s.hosts[k][0].Stats(); st.Failures == 0 {
				t.Errorf("perClient %v: balancer %d never tried the failing backend", perClient, k)
			}
		}
		if !(r.settled >= r.firstOK) || r.settled > 1 {
			t.Errorf("perClient %v: settled first-try success %.4f, overall %.4f; the learning is in the first 10%%", perClient, r.settled, r.firstOK)
		}
	}
}
