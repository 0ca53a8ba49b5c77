package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDemoRunsWithStaticAndDNSDiscovery(t *testing.T) {
	for _, disc := range []string{"static", "dns"} {
		t.Run(disc, func(t *testing.T) {
			var out bytes.Buffer
			svg := filepath.Join(t.TempDir(), "demo.svg")
			err := run(&out, io.Discard, config{
				requests: 200, concurrency: 8, attempts: 3, timeout: 2 * time.Second,
				svgPath: svg, discovery: disc, dnsAddr: "127.0.0.1:0",
			})
			if err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			for _, s := range strategies() {
				if !strings.Contains(out.String(), s.Name()) {
					t.Errorf("no row for %s:\n%s", s.Name(), out.String())
				}
			}
			// Retries hide the flaky backend: every request succeeds.
			if n := strings.Count(out.String(), "100.0%"); n < len(strategies()) {
				t.Errorf("want every strategy at 100%% after retry:\n%s", out.String())
			}
			data, err := os.ReadFile(svg)
			if err != nil || !bytes.HasPrefix(data, []byte("<svg")) {
				t.Fatalf("chart not written: %v", err)
			}
		})
	}
}

func TestDemoRejectsUnknownDiscovery(t *testing.T) {
	err := run(io.Discard, io.Discard, config{requests: 10, concurrency: 1, attempts: 1, timeout: time.Second, discovery: "zookeeper"})
	if err == nil || !strings.Contains(err.Error(), "zookeeper") {
		t.Fatalf("err = %v", err)
	}
}

// With -subset 2 the balancers see two of the four backends: the other two
// get no traffic. Without it (the other tests) every backend does.
func TestDemoSubset(t *testing.T) {
	var out bytes.Buffer
	err := run(&out, io.Discard, config{
		requests: 100, concurrency: 4, attempts: 3, timeout: 2 * time.Second,
		only: "round-robin", discovery: "static", subset: 2,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "subset: client 0 of 3, 2 backends each; in force: [127.0.0.1:") {
		t.Fatalf("no subset line:\n%s", out.String())
	}
	rows := 0
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasSuffix(f[0], "round-robin") {
			continue
		}
		rows++
		idle := 0
		for _, v := range f[len(f)-len(specs):] {
			if v == "0.0%" {
				idle++
			}
		}
		if idle != 2 {
			t.Errorf("%d backends without traffic, want the 2 outside the subset: %q", idle, line)
		}
	}
	if rows == 0 {
		t.Fatalf("no round-robin row:\n%s", out.String())
	}
}
