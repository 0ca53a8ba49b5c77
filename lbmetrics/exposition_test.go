package lbmetrics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/seed41aebe0c/lbkit/lbmetrics"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/pooling"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/retry"
)

// chain is a whole lbkit client for one service, every package reporting
// into set: discovery, a balancer with a pool under each host, a Retrier.
type chain struct {
	ep    func(context.Context, any) (any, error)
	close func()
}

func newChain(t *testing.T, set lbmetrics.Set, addrs []string) chain {
	t.Helper()
	pub, err := static.NewAddresses(addrs...)
	if err != nil {
		t.Fatal(err)
	}
	pub.SetMetrics(set.Discovery)
	driver, err := pooling.NewNetDriver("tcp")
	if err != nil {
		t.Fatal(err)
	}
	echo := func(_ context.Context, c net.Conn, req any) (any, error) { return roundTrip(c, req.(string)) }
	factory, err := pooling.Factory(driver, echo, pooling.WithMetrics(set.Pool))
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadbalancer.New(pub, factory, loadbalancer.WithMetrics(set.Balancer))
	if err != nil {
		t.Fatal(err)
	}
	r, err := retry.New(b, retry.WithMetrics(set.Retry))
	if err != nil {
		t.Fatal(err)
	}
	return chain{ep: r.Endpoint(), close: func() { r.Close(); b.Close(); pub.Stop() }}
}

// scrape fetches /metrics from a real promhttp handler over 127.0.0.1.
func scrape(t *testing.T, reg *prometheus.Registry) []byte {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4") // the text format, which promtool reads
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// TestExposition runs two services' chains against real servers, scrapes
// the registry through promhttp and checks the exposition with the
// Prometheus text parser and, when Debian's prometheus package is
// installed (make servers), with promtool check metrics.
func TestExposition(t *testing.T) {
	reg := prometheus.NewRegistry()
	pm, err := lbmetrics.NewPrometheus(reg, "lbkit")
	if err != nil {
		t.Fatal(err)
	}
	addrs := echoServers(t, 2)
	echo := newChain(t, pm.Service("echo"), addrs)
	other := newChain(t, pm.Service("other"), addrs[:1])
	const calls = 20
	for i := range calls {
		for _, c := range []chain{echo, other} {
			if resp, err := c.ep(context.Background(), "hi"); err != nil || resp != "hi" {
				t.Fatalf("call %d: %v, %v", i, resp, err)
			}
		}
	}
	echo.close() // the balancers report their last counts on Close
	other.close()
	body := scrape(t, reg)

	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("text parser: %v\n%s", err, body)
	}

	// Names: the namespace, units in the name, _total on counters, no
	// stutter, and neither a service's name nor a host in any name.
	for name, mf := range families {
		if !strings.HasPrefix(name, "lbkit_") {
			continue
		}
		words := strings.Split(name, "_")
		seen := map[string]bool{}
		for _, w := range words {
			if seen[w] && w != "total" {
				t.Errorf("%s repeats %q", name, w)
			}
			seen[w] = true
		}
		if strings.Contains(name, "echo") || strings.Contains(name, "other") || strings.Contains(name, "127") {
			t.Errorf("%s has a service or host in its name", name)
		}
		if mf.GetType() == dto.MetricType_COUNTER && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s does not end in _total", name)
		}
		if mf.GetType() == dto.MetricType_HISTOGRAM && !strings.HasSuffix(name, "_seconds") {
			t.Errorf("histogram %s is not in seconds", name)
		}
	}

	// series finds one series of a family by its labels.
	series := func(name string, want map[string]string) *dto.Metric {
		t.Helper()
		mf, ok := families[name]
		if !ok {
			t.Errorf("no family %s", name)
			return nil
		}
	next:
		for _, m := range mf.GetMetric() {
			got := labels(m)
			for k, v := range want {
				if got[k] != v {
					continue next
				}
			}
			return m
		}
		t.Errorf("no series %s%v", name, want)
		return nil
	}
	echoSvc := map[string]string{"service": "echo"}

	// Request latency: a histogram with RPC buckets, one sample per call.
	if m := series("lbkit_retry_request_duration_seconds", echoSvc); m != nil {
		h := m.GetHistogram()
		if h.GetSampleCount() != calls {
			t.Errorf("retry request count %d, want %d", h.GetSampleCount(), calls)
		}
		var bounds []float64
		for _, b := range h.GetBucket() {
			bounds = append(bounds, b.GetUpperBound())
		}
		// The text format adds the +Inf bucket.
		if fmt.Sprint(bounds) != fmt.Sprint(append(lbmetrics.LatencyBuckets(), math.Inf(1))) {
			t.Errorf("buckets %v, want LatencyBuckets %v and +Inf", bounds, lbmetrics.LatencyBuckets())
		}
	}
	// Attempt latency and requests per host, with the host as a label; the
	// two hosts share the calls.
	var perHost uint64
	for _, a := range addrs {
		if m := series("lbkit_balancer_host_request_duration_seconds", map[string]string{"service": "echo", "host": a}); m != nil {
			perHost += m.GetHistogram().GetSampleCount()
		}
		if m := series("lbkit_balancer_host_requests_total", map[string]string{"service": "echo", "host": a}); m != nil && m.GetCounter().GetValue() == 0 {
			t.Errorf("host %s of echo served nothing", a)
		}
		// The pools under the balancer report per host.
		if m := series("lbkit_pool_gets_total", map[string]string{"service": "echo", "host": a}); m != nil && m.GetCounter().GetValue() == 0 {
			t.Errorf("pool of %s under echo's balancer counted no gets", a)
		}
	}
	if perHost != calls {
		t.Errorf("attempt durations over echo's hosts %d, want %d", perHost, calls)
	}
	// The series an on-call engineer alerts on exist at zero.
	for _, name := range []string{"lbkit_balancer_no_endpoints_total", "lbkit_balancer_factory_errors_total",
		"lbkit_retry_budget_exhausted_total", "lbkit_retry_hedged_attempts_total", "lbkit_retry_retried_attempts_total",
		"lbkit_discovery_errors_total", "lbkit_grpcpool_scale_outs_total"} {
		if m := series(name, echoSvc); m != nil && m.GetCounter().GetValue() != 0 {
			t.Errorf("%s{service=echo} = %v, want 0", name, m.GetCounter().GetValue())
		}
	}
	if m := series("lbkit_herd_items_total", map[string]string{"service": "echo", "outcome": "failure"}); m != nil && m.GetCounter().GetValue() != 0 {
		t.Errorf("herd failures %v, want 0", m.GetCounter().GetValue())
	}
	if m := series("lbkit_discovery_instances", echoSvc); m != nil && m.GetGauge().GetValue() != 2 {
		t.Errorf("echo's discovery instances %v, want 2", m.GetGauge().GetValue())
	}
	// No per-host family shows a series without a host.
	for _, name := range []string{"lbkit_balancer_host_requests_total", "lbkit_balancer_host_request_duration_seconds", "lbkit_pool_gets_total"} {
		for _, m := range families[name].GetMetric() {
			if labels(m)["host"] == "" {
				t.Errorf("%s has a series without a host: %v", name, labels(m))
			}
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed (make servers installs Debian's prometheus): skipped promtool check metrics")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatal(err)
		}
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
