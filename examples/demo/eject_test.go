package main

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDemoEjectFlagEjectsTheFlakyBackend: with -eject, round-robin stops
// sending the flaky backend (which fails half its calls) its quarter of the
// calls once five of them fail in a row, which over 2,000 requests happens
// all but surely.
func TestDemoEjectFlagEjectsTheFlakyBackend(t *testing.T) {
	share := func(eject bool) float64 {
		var out bytes.Buffer
		err := run(&out, io.Discard, config{
			requests: 2000, concurrency: 16, attempts: 3, timeout: 2 * time.Second,
			only: "round-robin", discovery: "static", eject: eject,
		})
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		for _, line := range strings.Split(out.String(), "\n") {
			f := strings.Fields(line)
			if len(f) > 2 && f[0] == "round-robin" {
				// The backend columns end the row: fast-1, fast-2, flaky, slow.
				v, err := strconv.ParseFloat(strings.TrimSuffix(f[len(f)-2], "%"), 64)
				if err != nil {
					t.Fatalf("row %q: %v", line, err)
				}
				return v
			}
		}
		t.Fatalf("no round-robin row:\n%s", out.String())
		return 0
	}
	without, with := share(false), share(true)
	if without < 20 || with > 10 {
		t.Fatalf("flaky backend's share of attempts: %.1f%% without ejection, %.1f%% with; want above 20%% and below 10%%", without, with)
	}
}
