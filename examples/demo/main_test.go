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
