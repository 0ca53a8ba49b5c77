// Package statuspage_test loads the demo's live status page in a real
// headless Chromium and checks that it renders the host rows and the charts,
// and that they update while the demo drives traffic.
package statuspage_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// chromium finds the browser that `make test` installs (Debian's chromium).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("LBKIT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not found; make test installs Debian's chromium package")
	}
	t.Skip("chromium not installed (make test installs it)")
	return ""
}

// startDemo builds and runs examples/demo with its status page on a free
// 127.0.0.1 port, and returns the page's URL.
func startDemo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "demo")
	// Build from the library's own module, where the demo lives.
	build := exec.Command("go", "build", "-o", bin, "./examples/demo")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the demo: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"-http", "127.0.0.1:0", "-strategy", "round-robin", "-requests", "200000",
		"-concurrency", "4", "-svg", "", "-hold", "1m")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "status page: "); ok {
				urls <- u
			}
		}
	}()
	select {
	case u := <-urls:
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Fatalf("status page not on loopback: %s", u)
		}
		return u
	case <-time.After(60 * time.Second):
		t.Fatal("the demo did not print its status page address within 60s")
	}
	return ""
}

// dumpDOM loads url in headless Chromium, lets the page run for budget of
// virtual time, and returns the resulting DOM.
func dumpDOM(t *testing.T, browser, url string, budget time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(),
		"--virtual-time-budget="+strconv.Itoa(int(budget.Milliseconds())),
		"--dump-dom", url)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return string(out)
}

var (
	hostRow   = regexp.MustCompile(`<tr class="host" data-address="127\.0\.0\.1:\d+">`)
	series    = regexp.MustCompile(`<path class="series" data-address="[^"]+" stroke="[^"]+" d="([^"]*)"`)
	updates   = regexp.MustCompile(`<body data-updates="(\d+)"`)
	requestsN = regexp.MustCompile(`<td>\d+\.\d+ ms</td><td>(\d+)</td>`)
)

func requestCounts(dom string) []int {
	var out []int
	for _, m := range requestsN.FindAllStringSubmatch(dom, -1) {
		n, _ := strconv.Atoi(m[1])
		out = append(out, n)
	}
	return out
}

func TestStatusPageRendersAndUpdatesInChromium(t *testing.T) {
	browser := chromium(t)
	url := startDemo(t)

	first := dumpDOM(t, browser, url, 4*time.Second)
	if n := len(hostRow.FindAllString(first, -1)); n != 4 {
		t.Fatalf("host rows: %d, want the demo's 4 backends\n%s", n, first)
	}
	m := updates.FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("no update counter in the page\n%s", first)
	}
	if n, _ := strconv.Atoi(m[1]); n < 2 {
		t.Fatalf("page refreshed %d times in 4s of virtual time, want at least 2", n)
	}
	lines := series.FindAllStringSubmatch(first, -1)
	if len(lines) != 20 { // 4 hosts × (requests/s, error %, p99, share, score)
		t.Fatalf("chart series: %d, want 20\n%s", len(lines), first)
	}
	for _, l := range lines {
		if len(strings.Fields(l[1])) < 4 { // "M x y L x y"
			t.Fatalf("chart series with fewer than 2 points: %q", l[1])
		}
	}
	before := requestCounts(first)
	if len(before) != 4 {
		t.Fatalf("request counts %v", before)
	}

	time.Sleep(2 * time.Second)
	second := dumpDOM(t, browser, url, 2*time.Second)
	after := requestCounts(second)
	if len(after) != 4 {
		t.Fatalf("request counts after: %v", after)
	}
	var sumBefore, sumAfter int
	for i := range before {
		sumBefore += before[i]
		sumAfter += after[i]
	}
	if sumAfter <= sumBefore {
		t.Fatalf("the page did not update: requests %v then %v", before, after)
	}
	t.Log(fmt.Sprintf("requests shown: %v then %v", before, after))
}
