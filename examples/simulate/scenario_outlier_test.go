package main

import "testing"

// TestOutlierEjectionHelpsRoundRobinAndP2C: in the outliers scenario (a
// black hole and a backend failing 20%), ejection lifts lbkit's round-robin
// and P2C from about 97-98% first-attempt success to above 99.5%, and the
// extra rows run only where a scenario asks for them.
func TestOutlierEjectionHelpsRoundRobinAndP2C(t *testing.T) {
	off := results(t, quick(t, 0.3, "^outliers$", "^round-robin$|^p2c$"))
	on := results(t, quick(t, 0.3, "^outliers-ejected$", "^round-robin$|^p2c$"))
	for _, name := range []string{"round-robin", "p2c"} {
		if off[name] == nil || on[name] == nil {
			t.Fatalf("no %s row: %v / %v", name, off, on)
		}
		without, with := off[name].firstOK, on[name].firstOK
		if without > 0.99 || with < 0.995 {
			t.Errorf("%s: first-attempt success %.2f%% without ejection, %.2f%% with; want below 99%% and above 99.5%%", name, 100*without, 100*with)
		}
	}
	if other := results(t, quick(t, 0.02, "^black-hole$", "^round-robin$")); len(other) != 1 || other["oracle"] == nil {
		t.Errorf("another scenario ran the outlier scenarios' extra rows: %v", other)
	}
}

// TestSlowStartSparesAColdBackend: a backend that joins ten times slower
// than the others hurts round-robin's tail less when it ramps up.
func TestSlowStartSparesAColdBackend(t *testing.T) {
	off := results(t, quick(t, 1, "^cold-join$", "^round-robin$"))["round-robin"]
	on := results(t, quick(t, 1, "^cold-join-slow-start$", "^round-robin$"))["round-robin"]
	if on.p999 > off.p999*0.6 {
		t.Errorf("round-robin p99.9 %.2fms with slow start, %.2fms without: want at most 60%% of it", on.p999, off.p999)
	}
}
