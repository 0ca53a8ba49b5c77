package main

import (
	"bytes"
	"testing"
	"time"
)

// fastShare is the share of attempts that went to b0-b4 (the fast
// backends of reported-load) from 15 s of simulated time on: after the
// 10 s blackout and a few weight updates.
func fastShare(r *result) float64 {
	var fast, all int32
	for bin := int(15 * time.Second / time.Duration(binWidth)); bin < len(r.m.traffic); bin++ {
		for id, n := range r.m.traffic[bin] {
			all += n
			if id < 5 {
				fast += n
			}
		}
	}
	return float64(fast) / float64(all)
}

// On backends of two speeds that look alike, weighting by reported load
// sends the fast ones most of the traffic once the blackout is over, and
// beats round-robin's latency; the run is repeatable.
func TestReportedLoadWeightsBeatRoundRobin(t *testing.T) {
	o := quick(t, 0.5, "^reported-load$", "round-robin|wrr")
	rs := results(t, o)
	rr, wrr := rs["round-robin (go-kit)"], rs["wrr-load (A58)"]
	if s := fastShare(rr); s < 0.45 || s > 0.55 {
		t.Errorf("round-robin sent %.3f of attempts to the fast half, want about 0.5", s)
	}
	// Equal utilization means four times the calls on a backend four
	// times as fast: 0.8 of them to the fast half.
	if s := fastShare(wrr); s < 0.7 || s > 0.9 {
		t.Errorf("wrr-load sent %.3f of attempts to the fast half, want about 0.8", s)
	}
	if wrr.mean >= rr.mean || wrr.p99 >= rr.p99 {
		t.Errorf("wrr-load mean %.2fms p99 %.2fms, round-robin %.2fms %.2fms: want both lower", wrr.mean, wrr.p99, rr.mean, rr.p99)
	}
	var a, b bytes.Buffer
	o.svgDir = ""
	if _, err := run(o, &a); err != nil {
		t.Fatal(err)
	}
	if _, err := run(o, &b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("two runs differ:\n%s\n---\n%s", a.String(), b.String())
	}
}
