package statuspage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/statuspage"
)

// backend is an HTTP server on 127.0.0.1 that answers after delay, or
// with 500 while failing is set.
func backend(t *testing.T, delay time.Duration, failing *atomic.Bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing != nil && failing.Load() {
			http.Error(w, "injected failure", http.StatusInternalServerError)
			return
		}
		time.Sleep(delay)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func hostOf(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

// screenshotEnv names the directory the incident test writes its
// screenshot to (the system's temporary directory if unset).
const screenshotEnv = "LBKIT_ARTIFACTS"

var (
	sectionAttrs = regexp.MustCompile(`<section class="balancer" data-name="users" data-samples="(\d+)" data-from="(\d+)" data-to="(\d+)">`)
	bodyErrors   = regexp.MustCompile(`<body data-updates="(\d+)" data-errors="(\d+)"`)
	consoleLine  = regexp.MustCompile(`(?m)^.*:CONSOLE[:(]\d+\)?\].*$|^.*Uncaught.*$`)
)

// TestStatusPageAfterIncident runs a real balancer and retrier over three
// HTTP servers on 127.0.0.1 through an incident (one host fails, a new one
// is added, the failed one is removed), and only then opens the status
// page in headless Chromium. The page must show the incident from the
// server's history: samples from before the failure, the failure as 100%
// errors on the failed host, add and remove markers, the removed host in
// the legend with its line ended by a dot, the retries; and no error in
// the browser's console.
func TestStatusPageAfterIncident(t *testing.T) {
	browser := chromium(t)
	var bFailing atomic.Bool
	a, b, c := backend(t, time.Millisecond, nil), backend(t, 2*time.Millisecond, &bFailing), backend(t, time.Millisecond, nil)

	pub, err := static.NewAddresses(hostOf(a), hostOf(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.Stop)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	t.Cleanup(client.CloseIdleConnections)
	lb, err := loadbalancer.New(pub, getFactory(client))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lb.Close() })
	rt, err := retry.New(lb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	page, err := statuspage.New(statuspage.WithTitle("incident"), statuspage.WithBalancer("users", lb), statuspage.WithRetrier("users", rt))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { page.Close() })
	srv := httptest.NewServer(page)
	t.Cleanup(srv.Close)

	// Traffic: two callers, bounded in count and time.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var calls, failures atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20000 {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				if _, err := rt.Endpoint()(ctx, nil); err != nil && !errors.Is(err, context.Canceled) {
					failures.Add(1)
				}
				cancel()
				calls.Add(1)
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	waitHost := func(addr string, present bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			found := false
			for _, h := range lb.Status().Hosts {
				found = found || h.Address == addr
			}
			if found == present {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("host %s present=%v: not reached", addr, present)
			}
			time.Sleep(time.Millisecond)
		}
	}

	waitSamples(t, page, 2) // healthy
	failedAt := time.Now()
	bFailing.Store(true) // b fails
	waitSamples(t, page, 3)
	if err := pub.Replace(publisher.Instance{Address: hostOf(a)}, publisher.Instance{Address: hostOf(b)}, publisher.Instance{Address: hostOf(c)}); err != nil {
		t.Fatal(err)
	}
	waitHost(hostOf(c), true) // c is added
	waitSamples(t, page, 2)
	if err := pub.Replace(publisher.Instance{Address: hostOf(a)}, publisher.Instance{Address: hostOf(c)}); err != nil {
		t.Fatal(err)
	}
	waitHost(hostOf(b), false) // the failed b is removed
	waitSamples(t, page, 2)
	lostAt := time.Now()
	if err := pub.Fail(errors.New("registry unreachable")); err != nil { // and discovery fails
		t.Fatal(err)
	}
	waitSamples(t, page, 1)
	endedAt := time.Now()
	t.Logf("incident traffic: %d calls, %d failed after retries; retrier %+v", calls.Load(), failures.Load(), rt.Stats())

	// Only now open the page (traffic goes on), with the log scale on.
	dom, console := loadPage(t, browser, srv.URL+"/?log=1", 3*time.Second, "")
	m := sectionAttrs.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no balancer section with its history range\n%s", dom)
	}
	samples, _ := strconv.Atoi(m[1])
	from, _ := strconv.ParseInt(m[2], 10, 64)
	to, _ := strconv.ParseInt(m[3], 10, 64)
	if samples < 9 || from > failedAt.UnixMilli()-1000 || to < endedAt.UnixMilli()-1500 {
		t.Errorf("the page's history: %d samples from %v to %v; the incident ran from %v to %v",
			samples, time.UnixMilli(from), time.UnixMilli(to), failedAt, endedAt)
	}
	for _, want := range []string{
		fmt.Sprintf(`class="marker marker-add" data-kind="add" data-address="%s"`, hostOf(c)),
		fmt.Sprintf(`class="marker marker-remove" data-kind="remove" data-address="%s"`, hostOf(b)),
		fmt.Sprintf(`class="end-marker" data-address="%s"`, hostOf(b)),
		fmt.Sprintf(`class="legend-item removed" data-address="%s" data-present="false"`, hostOf(b)),
		fmt.Sprintf(`class="legend-item" data-address="%s" data-present="true"`, hostOf(c)),
		`id="retry-users"`, `budget exhausted`, `class="discovery" data-error="true"`, "registry unreachable",
		`id="rps-users" data-scale="log"`, `id="latency-users" data-scale="log"`, `id="errors-users" data-scale="linear"`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if n := strings.Count(dom, `<tr class="host"`); n != 2 {
		t.Errorf("%d host rows, want a and c", n)
	}
	// b's line on the error chart reaches 100% (the chart's top, y=24).
	errChart := dom[strings.Index(dom, `id="errors-users"`):]
	errChart = errChart[:strings.Index(errChart, "</svg>")]
	bLine := regexp.MustCompile(`<path class="series" data-address="` + regexp.QuoteMeta(hostOf(b)) + `" stroke="[^"]+" d="([^"]*)"`).FindStringSubmatch(errChart)
	if bLine == nil || !strings.Contains(bLine[1], " 24.0") {
		t.Errorf("the failed host's error line does not reach 100%%: %v", bLine)
	}
	if m := regexp.MustCompile(`error since (\d+:\d+:\d+)`).FindStringSubmatch(dom); m == nil {
		t.Errorf("the discovery panel does not say since when discovery fails (it began at %v)", lostAt)
	}
	if m := bodyErrors.FindStringSubmatch(dom); m == nil || m[2] != "0" || m[1] == "0" {
		t.Errorf("page updates and errors: %v", m)
	}
	if lines := consoleLine.FindAllString(console, -1); len(lines) > 0 {
		t.Errorf("console messages:\n%s", strings.Join(lines, "\n"))
	}

	// The console check can fail: a page that logs an error is caught.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `<!doctype html><link rel="icon" href="data:,"><script>console.error("broken page")</script>`)
	}))
	defer bad.Close()
	if _, log := loadPage(t, browser, bad.URL+"/", 500*time.Millisecond, ""); !strings.Contains(strings.Join(consoleLine.FindAllString(log, -1), "\n"), "broken page") {
		t.Errorf("the console check missed a console error; chromium logged:\n%s", log)
	}

	// The screenshot, for a human to look at.
	dir := os.Getenv(screenshotEnv)
	if dir == "" {
		dir = os.TempDir()
	}
	shot := filepath.Join(dir, "lbkit-statuspage-incident.png")
	loadPage(t, browser, srv.URL+"/", 3*time.Second, shot)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
}

// loadPage loads url in headless Chromium for budget of virtual time and
// returns the DOM and what Chromium logged (console messages included),
// or, with a screenshot path, writes a screenshot there instead.
func loadPage(t *testing.T, browser, url string, budget time.Duration, screenshot string) (dom, log string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(),
		"--enable-logging=stderr", "--v=0",
		"--virtual-time-budget=" + strconv.Itoa(int(budget.Milliseconds())),
	}
	if screenshot != "" {
		args = append(args, "--window-size=1400,2200", "--hide-scrollbars", "--screenshot="+screenshot)
	} else {
		args = append(args, "--dump-dom")
	}
	cmd := exec.CommandContext(ctx, browser, append(args, url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out), stderr.String()
}

// getFactory makes for each address an endpoint that GETs / from it with
// client and fails on any status but 200.
func getFactory(client *http.Client) func(string) (endpoint.Endpoint, io.Closer, error) {
	return func(addr string) (endpoint.Endpoint, io.Closer, error) {
		return func(ctx context.Context, _ any) (any, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
			if err != nil {
				return nil, err
			}
			resp, err := client.Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusOK {
				return nil, fmt.Errorf("%s: %s", addr, resp.Status)
			}
			return nil, nil
		}, nil, nil
	}
}

// waitSamples waits for page's history to take n more samples (1 s each by
// default), failing after n s and 10 s more.
func waitSamples(t *testing.T, page *statuspage.Page, n int) {
	t.Helper()
	start := len(page.History(time.Time{}).Times)
	deadline := time.Now().Add(time.Duration(n)*time.Second + 10*time.Second)
	for len(page.History(time.Time{}).Times) < start+n {
		if time.Now().After(deadline) {
			t.Fatalf("the history did not take %d samples", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
