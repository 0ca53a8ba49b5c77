package orca_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/orca"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// backend is a real HTTP server on 127.0.0.1 whose Reporter reports a
// fixed application utilization at a fixed RPS, so that the weights the
// client computes are known. quiet stops it sending reports.
type backend struct {
	addr  string
	rep   *orca.Reporter
	quiet atomic.Bool
	json  atomic.Pointer[string] // if set, the header's value instead of the Reporter's
}

func startBackend(t *testing.T, util float64) *backend {
	t.Helper()
	rep, err := orca.NewReporter(orca.WithLoadFunc(func(m orca.Load) orca.Load {
		m.ApplicationUtilization, m.RPS, m.EPS = util, 100, 0
		return m
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rep.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{addr: ln.Addr().String(), rep: rep}
	hello := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, b.addr) })
	reporting := rep.Handler(hello)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b.quiet.Load() {
			hello.ServeHTTP(w, r)
			return
		}
		if v := b.json.Load(); v != nil {
			w.Header().Set(orca.Header, *v)
			hello.ServeHTTP(w, r)
			return
		}
		reporting.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return b
}

// kitFactory makes each instance's endpoint a go-kit HTTP client whose
// ClientAfter hands the instance's load reports to reports.
func kitFactory(reports *orca.Reports, tr *http.Transport) loadbalancer.Factory {
	return func(instance string) (endpoint.Endpoint, io.Closer, error) {
		u, err := url.Parse("http://" + instance + "/")
		if err != nil {
			return nil, nil, err
		}
		c := httptransport.NewClient(http.MethodGet, u,
			func(context.Context, *http.Request, any) error { return nil },
			func(_ context.Context, r *http.Response) (any, error) {
				b, err := io.ReadAll(r.Body)
				return string(b), err
			},
			httptransport.SetClient(&http.Client{Transport: tr}),
			httptransport.ClientAfter(orca.ClientAfter(reports, instance)))
		return c.Endpoint(), nil, nil
	}
}

// newLoadBalancer is a balancer over backends with strategy s, its hosts
// linked to reports.
func newLoadBalancer(t *testing.T, s strategy.Strategy, backends ...*backend) (*loadbalancer.Balancer, *orca.Reports) {
	t.Helper()
	addrs := make([]string, len(backends))
	for i, b := range backends {
		addrs[i] = b.addr
	}
	p, err := static.NewAddresses(addrs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	reports := new(orca.Reports)
	lb, err := loadbalancer.New(p, kitFactory(reports, tr), loadbalancer.WithStrategy(s), loadbalancer.WithHostWatcher(reports))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lb.Close() })
	return lb, reports
}

// drive sends requests through the balancer, one every gap (none if 0),
// for at most d or n requests, and counts the backend that served each.
func drive(t *testing.T, lb *loadbalancer.Balancer, d, gap time.Duration, n int) map[string]int {
	t.Helper()
	served := map[string]int{}
	deadline := time.Now().Add(d)
	for i := 0; i < n && time.Now().Before(deadline); i++ {
		ep, err := lb.Endpoint()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ep(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		served[resp.(string)]++
		if gap > 0 {
			time.Sleep(gap)
		}
	}
	return served
}

// allReportingFor reports whether every host of lb has been reporting its
// load for at least d.
func allReportingFor(lb *loadbalancer.Balancer, d time.Duration) bool {
	for _, h := range lb.Status().Hosts {
		if h.Load.ReportingFor < d {
			return false
		}
	}
	return true
}

func shareOf(served map[string]int, addr string) float64 {
	total := 0
	for _, n := range served {
		total += n
	}
	return float64(served[addr]) / float64(total)
}

func checkShares(t *testing.T, what string, served map[string]int, bs []*backend, weights []float64) {
	t.Helper()
	var sum float64
	for _, w := range weights {
		sum += w
	}
	for i, b := range bs {
		want := weights[i] / sum
		if got := shareOf(served, b.addr); got < want*0.9 || got > want*1.1 {
			t.Errorf("%s: backend %d's share %.3f, want %.3f ±10%% (served %v)", what, i, got, want, served)
		}
	}
}

// Three real backends report utilization 0.2, 0.5 and 0.9 at equal RPS;
// with the defaults of WeightedRoundRobin (a 10 s blackout) the client's
// shares come to 1/0.2 : 1/0.5 : 1/0.9, as gRPC's weighted_round_robin
// would send. Before the blackout has passed the shares are equal.
func TestWeightedRoundRobinOverHTTPReports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 12 s: the default blackout period")
	}
	bs := []*backend{startBackend(t, 0.2), startBackend(t, 0.5), startBackend(t, 0.9)}
	lb, reports := newLoadBalancer(t, strategy.WeightedRoundRobin{}, bs...)

	early := drive(t, lb, 5*time.Second, 5*time.Millisecond, 600)
	checkShares(t, "during the blackout", early, bs, []float64{1, 1, 1})

	// Light traffic until every host has reported for longer than the
	// blackout and one update period more, so that the weights are in use.
	settle := strategy.DefaultBlackoutPeriod + strategy.DefaultWeightUpdatePeriod + 100*time.Millisecond
	deadline := time.Now().Add(30 * time.Second)
	for !allReportingFor(lb, settle) {
		if time.Now().After(deadline) {
			t.Fatalf("hosts not reporting for %v after 30 s: %+v", settle, lb.Status().Hosts)
		}
		drive(t, lb, 100*time.Millisecond, 10*time.Millisecond, 10)
	}
	served := drive(t, lb, 20*time.Second, 0, 3000)
	checkShares(t, "after the blackout", served, bs, []float64{1 / 0.2, 1 / 0.5, 1 / 0.9})

	for i, h := range lb.Status().Hosts {
		if h.Load.Reports == 0 || h.Load.Last.RPS != 100 || h.Load.ReportingFor < 10*time.Second {
			t.Errorf("host %d's reported load %+v: want reports at RPS 100 for over 10 s", i, h.Load)
		}
	}
	if st := reports.Stats(); st.Hosts != 3 || st.Invalid != 0 {
		t.Errorf("Reports.Stats = %+v", st)
	}
}

// A backend that stops reporting keeps its weight until its report
// expires, then gets the mean weight of the others.
func TestWeightedRoundRobinReportExpiryOverHTTP(t *testing.T) {
	bs := []*backend{startBackend(t, 0.2), startBackend(t, 0.5), startBackend(t, 0.9)}
	s := strategy.WeightedRoundRobin{BlackoutPeriod: -1, WeightExpirationPeriod: 3 * time.Second, WeightUpdatePeriod: strategy.MinWeightUpdatePeriod}
	lb, _ := newLoadBalancer(t, s, bs...)

	drive(t, lb, 2500*time.Millisecond, 10*time.Millisecond, 250) // first reports after 1 s
	served := drive(t, lb, 20*time.Second, 0, 3000)
	checkShares(t, "while all report", served, bs, []float64{1 / 0.2, 1 / 0.5, 1 / 0.9})

	bs[0].quiet.Store(true)
	drive(t, lb, 3500*time.Millisecond, 10*time.Millisecond, 350)
	served = drive(t, lb, 20*time.Second, 0, 3000)
	mean := (1/0.5 + 1/0.9) / 2
	checkShares(t, "after the quiet backend's report expired", served, bs, []float64{mean, 1 / 0.5, 1 / 0.9})
}

// Without a watcher-linked balancer a report has nowhere to go: Reports
// drops it and says so.
func TestReportsDropsUnknownAddresses(t *testing.T) {
	var r orca.Reports
	if r.Report("127.0.0.1:1", strategy.LoadReport{CPUUtilization: 0.5, RPS: 1}) {
		t.Error("a report for an unknown address was delivered")
	}
	if err := r.ReportHeader("127.0.0.1:1", "TEXT cpu=1"); err == nil {
		t.Error("an invalid header was accepted")
	}
	if err := r.ReportHeader("127.0.0.1:1", ""); err != nil {
		t.Errorf("no header: %v", err)
	}
	h, _ := strategy.NewHost("127.0.0.1:2", 1)
	r.SetHosts([]*strategy.Host{h})
	if err := r.ReportHeader("127.0.0.1:2", "TEXT cpu_utilization=0.5,rps_fractional=20,named_metrics.q=3"); err != nil {
		t.Fatal(err)
	}
	if got := h.Stats().Load.Last; got != (strategy.LoadReport{CPUUtilization: 0.5, RPS: 20}) {
		t.Errorf("host's last report %+v", got)
	}
	if st := r.Stats(); st != (orca.ReportsStats{Hosts: 1, Dropped: 1, Invalid: 1}) {
		t.Errorf("Stats = %+v", st)
	}
	if n := testing.AllocsPerRun(100, func() { r.ReportHeader("127.0.0.1:2", "TEXT cpu_utilization=0.5,rps_fractional=20") }); n != 0 {
		t.Errorf("ReportHeader allocates %v times", n)
	}
}

// A backend that reports in the JSON form (as Envoy and some servers
// write it) over a real HTTP call reaches its host's statistics just as
// the text form does.
func TestJSONReportsOverHTTP(t *testing.T) {
	b := startBackend(t, 0.2)
	v := `JSON {"cpu_utilization":0.25,"applicationUtilization":0.4,"rpsFractional":"80","eps":2,"namedMetrics":{"queue":3}}`
	b.json.Store(&v)
	lb, reports := newLoadBalancer(t, strategy.RoundRobin{}, b)
	drive(t, lb, 5*time.Second, 0, 5)
	h := lb.Status().Hosts[0]
	if l := h.Load.Last; h.Load.Reports != 5 || l.CPUUtilization != 0.25 || l.ApplicationUtilization != 0.4 || l.RPS != 80 || l.EPS != 2 {
		t.Errorf("host's reported load %+v after 5 JSON reports", h.Load)
	}
	if st := reports.Stats(); st.Invalid != 0 {
		t.Errorf("Reports.Stats = %+v: a JSON report counted invalid", st)
	}
}
