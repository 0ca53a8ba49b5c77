//go:build montecarlo_simulation

package main

import (
	"bytes"
	"os"
	"regexp"
	"testing"
	"time"
)

// TestMonteCarloSimulation runs the whole simulation, as pooly's tests of
// the same build tag do, prints its tables, and checks lbkit's targets
// against them:
//
//	go test -tags montecarlo_simulation -run MonteCarlo -v ./examples/simulate
//
// LBKIT_SIMULATE_SCALE multiplies the simulated time, LBKIT_SIMULATE_SVG
// names a directory for the charts (a temporary one by default).
func TestMonteCarloSimulation(t *testing.T) {
	o := options{
		scale:    1,
		seed:     1,
		scenario: regexp.MustCompile(""),
		strategy: regexp.MustCompile(""),
		svgDir:   os.Getenv("LBKIT_SIMULATE_SVG"),
		parallel: 2,
	}
	if s := os.Getenv("LBKIT_SIMULATE_SCALE"); s != "" {
		f, err := parseFlags([]string{"-scale", s}, os.Stderr)
		if err != nil {
			t.Fatal(err)
		}
		o.scale = f.scale
	}
	if o.svgDir == "" {
		o.svgDir = t.TempDir()
	}
	start := time.Now()
	outcomes, err := simulate(o)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	var out bytes.Buffer
	runs, err := report(o, outcomes, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d simulations in %v\n%s", runs, elapsed.Round(10*time.Millisecond), out.String())

	learners := regexp.MustCompile(`^(peak-ewma|epsilon-greedy\(0\.1\)|softmax\(0\.1\)|ucb1|thompson)$`)
	for _, oc := range outcomes {
		oracle := oc.results[0]
		var p2c *result
		for _, r := range oc.results {
			if r.contestant.name == "p2c" {
				p2c = r
			}
		}
		for _, r := range oc.results {
			name := r.contestant.name
			if !learners.MatchString(name) {
				continue
			}
			// Issue 13's targets, on this one seed (the published figures
			// are medians over five).
			switch oc.sc.name {
			case "turns-bad":
				back := 10.0
				if name == "peak-ewma" {
					back = 5
				}
				if r.shun > 2 || r.back > back {
					t.Errorf("turns-bad: %s took %.1fs to shun the bad backend (want ≤ 2s) and %.1fs to take it back (want ≤ %.0fs)", name, r.shun, r.back, back)
				}
			case "capacity":
				// Within 1% on one seed: the seeds' ranges are ±0.02 ms.
				if p2c != nil && r.p99 > p2c.p99*1.01 {
					t.Errorf("capacity: %s p99 %.2fms, P2C's %.2fms", name, r.p99, p2c.p99)
				}
			}
			if name != "peak-ewma" {
				continue
			}
			// The default strategy, everywhere: within a percent of the
			// oracle's success and a quarter of its p99 latency. Except in
			// reported-load, where half the backends are 4× slower and the
			// oracle, which knows every queue, never uses them: there
			// peak-EWMA's p99 is 2.2× the oracle's (docs/strategies.md),
			// and only its success is held to the rule.
			p99Bound := 1.25 * oracle.p99
			switch oc.sc.name {
			case "reported-load":
				p99Bound = 2.5 * oracle.p99
			case "failover-tiers", "zone-aware":
				// The oracle ignores priorities and zones, which these
				// scenarios ask the balancer to respect: while half of
				// tier 0 (or zone a) fails, its healthy hosts carry
				// Envoy's 70% (60%) of the traffic and queue for it. The
				// shares and success are TestTierScenarios's.
				p99Bound = 1.5 * oracle.p99
			}
			if r.firstOK < 0.99 || r.p99 > p99Bound {
				t.Errorf("%s: peak-ewma first-attempt success %.4f, p99 %.2fms (oracle %.2fms)", oc.sc.name, r.firstOK, r.p99, oracle.p99)
			}
			switch oc.sc.name {
			case "bad-and-slow":
				if r.firstOK < 0.9999 || r.finalOK < 0.9999 || r.p99 > 1.05*oracle.p99 {
					t.Errorf("bad-and-slow: peak-ewma success %.5f before and %.5f after retry (want ≥ 99.99%%), p99 %.2fms (want ≤ 1.05 × %.2fms)", r.firstOK, r.finalOK, r.p99, oracle.p99)
				}
			case "per-client":
				if r.settled < 0.998 {
					t.Errorf("per-client: peak-ewma first-try success after the first 10%% %.4f, want ≥ 99.8%%", r.settled)
				}
			}
		}
	}
}
