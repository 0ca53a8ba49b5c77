package main

import (
	"bytes"
	"strings"
	"testing"
)

// The targets for lbkit's design, at 300 clients × 100 backends,
// d = 10, on every seed: connections within ±1 of 30, load max/min at
// most 1.10 with an even spread, each backend change within a bounded
// multiple of the minimum and far below a reshuffle.
func TestRingMeetsTheTargets(t *testing.T) {
	o := options{clients: 300, backends: 100, size: 10, seeds: 5, seed: 1, requests: 100}
	ring, reshuffleAlg := algorithms()[0], algorithms()[4]
	for s := range uint64(o.seeds) {
		f := measure(o, ring, o.seed+s)
		naive := measure(o, reshuffleAlg, o.seed+s)
		if f["connMin"] < 29 || f["connMax"] > 31 {
			t.Errorf("seed %d: connections %v–%v, want within ±1 of 30", s, f["connMin"], f["connMax"])
		}
		if f["evenLoad"] > 1.10 {
			t.Errorf("seed %d: load max/min %.3f, want <= 1.10", s, f["evenLoad"])
		}
		for _, k := range []string{"rmConn", "addConn", "cLeaveConn", "cJoinConn"} {
			if f[k] > 1 {
				t.Errorf("seed %d: %s = %v, want the ±1 balance kept", s, k, f[k])
			}
		}
		// At most one backend per client, besides the minimum.
		if f["rmMoved"] > f["rmMin"]+float64(o.clients) || f["addMoved"] > f["addMin"]+float64(o.clients) {
			t.Errorf("seed %d: moved %v (leave) and %v (join) pairs, want at most one per client", s, f["rmMoved"], f["addMoved"])
		}
		if f["rmMoved"]*10 > naive["rmMoved"] || f["addMoved"]*10 > naive["addMoved"] {
			t.Errorf("seed %d: moved %v and %v pairs, a reshuffle %v and %v: want ten times fewer",
				s, f["rmMoved"], f["addMoved"], naive["rmMoved"], naive["addMoved"])
		}
	}
}

// lbkit's LowChurn design moves exactly the minimum on every change, at
// the price the table shows in balance.
func TestLowChurnMovesTheMinimum(t *testing.T) {
	o := options{clients: 300, backends: 100, size: 10, seeds: 5, seed: 1, requests: 100}
	low := algorithms()[2]
	if low.name != "low-churn" {
		t.Fatalf("algorithms()[2] is %q", low.name)
	}
	for s := range uint64(o.seeds) {
		f := measure(o, low, o.seed+s)
		if f["rmMoved"] != f["rmMin"] || f["addMoved"] != f["addMin"] || f["cLeaveMoved"] != 0 || f["cJoinMoved"] != 0 {
			t.Errorf("seed %d: moved %v (min %v) on a backend leaving, %v (min %v) joining, %v and %v on a client leaving and joining",
				s, f["rmMoved"], f["rmMin"], f["addMoved"], f["addMin"], f["cLeaveMoved"], f["cJoinMoved"])
		}
		if f["connMin"] < 10 || f["connMax"] > 55 {
			t.Errorf("seed %d: connections %v–%v: further from 30 than chance", s, f["connMin"], f["connMax"])
		}
	}
}

func TestRunPrintsEveryDesign(t *testing.T) {
	var out bytes.Buffer
	if err := run(options{clients: 30, backends: 10, size: 3, seeds: 2, seed: 1, requests: 10}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ring", "google", "low-churn", "hashring", "reshuffle", "backend leaves: pairs changed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestParseFlagsRejectsBadSizes(t *testing.T) {
	for _, args := range [][]string{{"-size", "0"}, {"-size", "100"}, {"-clients", "1"}, {"-seeds", "0"}} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%v) accepted", args)
		}
	}
}
