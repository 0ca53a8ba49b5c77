package statuspage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// incidentBalancer is a real balancer over in-process endpoints: the
// host at an address ending in :2 fails every call after 2 ms, the others
// succeed after 1 ms (on the balancer's clock: the latency is real).
func incidentBalancer(t *testing.T, addrs ...string) (*static.Publisher, *loadbalancer.Balancer) {
	t.Helper()
	p, err := static.NewAddresses(addrs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	f := func(addr string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) {
			if strings.HasSuffix(addr, ":2") {
				time.Sleep(2 * time.Millisecond)
				return nil, errors.New("down")
			}
			time.Sleep(time.Millisecond)
			return nil, nil
		}, nil, nil
	}
	b, err := loadbalancer.New(p, f, loadbalancer.WithStrategy(strategy.RoundRobin{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return p, b
}

func drive(b *loadbalancer.Balancer, n int) {
	for range n {
		e, err := b.Endpoint()
		if err == nil {
			e(context.Background(), nil)
		}
	}
}

func series(t *testing.T, h History, addr, name string) Series {
	t.Helper()
	for _, hh := range h.Balancers[0].Hosts {
		if hh.Address == addr {
			return hh.Series[name]
		}
	}
	t.Fatalf("no host %s in the history", addr)
	return nil
}

func isNaN(v float32) bool { return v != v }

// The history computes each interval's figures from the counters'
// differences, wraps around its window, and marks hosts added and removed.
func TestHistoryIntervalsRingAndMarkers(t *testing.T) {
	p, b := incidentBalancer(t, "127.0.0.1:1", "127.0.0.1:2")
	drive(b, 20) // before the first sample: not part of any interval
	h := newHistory(5*time.Second, time.Second)
	h.addBalancer("users", b)
	t0 := time.UnixMilli(1_000_000)
	h.sample(t0)
	drive(b, 40)
	h.sample(t0.Add(time.Second))

	got := h.snapshot(0)
	if len(got.Times) != 2 || got.Times[1]-got.Times[0] != 1000 || got.ResolutionMs != 1000 || got.WindowMs != 5000 {
		t.Fatalf("times %v, resolution %d, window %d", got.Times, got.ResolutionMs, got.WindowMs)
	}
	for addr, wantErr := range map[string]float32{"127.0.0.1:1": 0, "127.0.0.1:2": 100} {
		rps, errPct, share := series(t, got, addr, "rps"), series(t, got, addr, "errorPct"), series(t, got, addr, "share")
		if !isNaN(rps[0]) || !isNaN(errPct[0]) {
			t.Errorf("%s: the first sample has values %v %v; it has no interval", addr, rps, errPct)
		}
		if rps[1] != 20 || errPct[1] != wantErr || share[1] != 0.5 {
			t.Errorf("%s: rps %v error %% %v share %v, want 20/s, %v%%, 0.5", addr, rps[1], errPct[1], share[1], wantErr)
		}
		p50, p99 := series(t, got, addr, "p50Ms")[1], series(t, got, addr, "p99Ms")[1]
		if p50 < 0.75 || p99 < p50 || p99 > 500 {
			t.Errorf("%s: p50 %v ms, p99 %v ms", addr, p50, p99)
		}
	}
	if s := series(t, got, "127.0.0.1:2", "p50Ms")[1]; s < 1.5 {
		t.Errorf("the 2 ms host's p50 is %v ms", s)
	}
	if len(got.Balancers[0].Events) != 0 {
		t.Fatalf("markers for the hosts there from the start: %+v", got.Balancers[0].Events)
	}
	if sc := series(t, got, "127.0.0.1:2", "score")[1]; sc != 0 {
		t.Errorf("the failing host's score %v, want the balancer's 0", sc)
	}

	// The incident: :2 leaves, :3 joins.
	p.Replace(publisher.Instance{Address: "127.0.0.1:1"}, publisher.Instance{Address: "127.0.0.1:3"})
	deadline := time.Now().Add(10 * time.Second)
	for len(b.Status().Hosts) != 2 || b.Status().Hosts[1].Address != "127.0.0.1:3" {
		if time.Now().After(deadline) {
			t.Fatal("the balancer did not take the new set")
		}
		time.Sleep(time.Millisecond)
	}
	drive(b, 10)
	h.sample(t0.Add(2 * time.Second))
	got = h.snapshot(0)
	ev := got.Balancers[0].Events
	if len(ev) != 2 || ev[0] != (Event{TimeMs: got.Times[2], Kind: "add", Address: "127.0.0.1:3"}) ||
		ev[1] != (Event{TimeMs: got.Times[2], Kind: "remove", Address: "127.0.0.1:2"}) {
		t.Fatalf("events %+v", ev)
	}
	for _, hh := range got.Balancers[0].Hosts {
		if hh.Present != (hh.Address != "127.0.0.1:2") {
			t.Errorf("%s present %v", hh.Address, hh.Present)
		}
	}
	if s := series(t, got, "127.0.0.1:2", "rps"); !isNaN(s[2]) || s[1] != 20 {
		t.Errorf("removed host's rps %v: want its history, then nothing", s)
	}
	if s := series(t, got, "127.0.0.1:3", "rps"); !isNaN(s[0]) || !isNaN(s[1]) || s[2] != 5 {
		t.Errorf("new host's rps %v: want nothing, then 5/s", s)
	}
	if s := h.snapshot(got.Times[1]); len(s.Times) != 1 || s.Times[0] != got.Times[2] || len(s.Balancers[0].Events) != 2 {
		t.Errorf("since the second sample: %+v", s)
	}
	if s := h.snapshot(got.Times[2]); len(s.Times) != 0 || len(s.Balancers[0].Events) != 0 || len(s.Balancers[0].Hosts) != 3 {
		t.Errorf("since the last sample: %+v", s)
	}

	// Around the ring: the window keeps 5 samples; the removed host
	// and its marker go once they have left it.
	for i := 3; i < 8; i++ {
		drive(b, 4)
		h.sample(t0.Add(time.Duration(i) * time.Second))
	}
	got = h.snapshot(0)
	if len(got.Times) != 5 || got.Times[0] != t0.Add(3*time.Second).UnixMilli() || got.Times[4] != t0.Add(7*time.Second).UnixMilli() {
		t.Fatalf("after wrapping: times %v", got.Times)
	}
	for _, hh := range got.Balancers[0].Hosts {
		if hh.Address == "127.0.0.1:2" {
			t.Fatalf("host removed 5 samples ago still kept: %+v", hh)
		}
		if r := hh.Series["rps"]; len(r) != 5 || r[4] != 2 {
			t.Errorf("%s rps %v, want 5 samples ending at 2/s", hh.Address, r)
		}
	}
	if len(got.Balancers[0].Events) != 0 {
		t.Errorf("markers outside the window: %+v", got.Balancers[0].Events)
	}
}

// A re-added address starts its counters again: no negative or huge
// interval from the old host's counts.
func TestHistoryReAddedHost(t *testing.T) {
	p, b := incidentBalancer(t, "127.0.0.1:1", "127.0.0.1:3")
	h := newHistory(10*time.Second, time.Second)
	h.addBalancer("users", b)
	t0 := time.UnixMilli(1_000_000)
	h.sample(t0)
	drive(b, 100)
	h.sample(t0.Add(time.Second))
	p.Replace(publisher.Instance{Address: "127.0.0.1:1"})
	for len(b.Status().Hosts) != 1 {
		time.Sleep(time.Millisecond)
	}
	h.sample(t0.Add(2 * time.Second))
	p.Replace(publisher.Instance{Address: "127.0.0.1:1"}, publisher.Instance{Address: "127.0.0.1:3"})
	for len(b.Status().Hosts) != 2 {
		time.Sleep(time.Millisecond)
	}
	drive(b, 4)
	h.sample(t0.Add(3 * time.Second))
	got := h.snapshot(0)
	if r := series(t, got, "127.0.0.1:3", "rps"); r[1] != 50 || !isNaN(r[2]) || r[3] != 2 {
		t.Fatalf("re-added host rps %v, want [null 50 null 2]", r)
	}
	if ev := got.Balancers[0].Events; len(ev) != 2 || ev[0].Kind != "remove" || ev[1].Kind != "add" {
		t.Fatalf("events %+v", ev)
	}
}

// The retrier's counters become rates per interval.
func TestHistoryRetrier(t *testing.T) {
	_, b := incidentBalancer(t, "127.0.0.1:2")
	r, err := retry.New(b, retry.WithMaxAttempts(3), retry.WithBackoff(time.Microsecond, time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := newHistory(10*time.Second, 500*time.Millisecond)
	h.addBalancer("users", b).retrier = r
	t0 := time.UnixMilli(1_000_000)
	h.sample(t0)
	for range 5 {
		r.Endpoint()(context.Background(), nil)
	}
	h.sample(t0.Add(500 * time.Millisecond))
	got := h.snapshot(0).Balancers[0].Series
	if rr := got["retriesPerSec"]; !isNaN(rr[0]) || rr[1] != 20 { // 5 calls × 2 retries in half a second
		t.Fatalf("retries/s %v, want [null 20]", rr)
	}
	if n := got["instances"]; n[1] != 1 {
		t.Fatalf("instances %v", n)
	}
	if hs := got["hedgesPerSec"]; hs[1] != 0 {
		t.Fatalf("hedges/s %v", hs)
	}
}

func TestSeriesJSON(t *testing.T) {
	nan := float32(math.NaN())
	b, err := json.Marshal(Series{nan, 1, 0.5, 123456, float32(math.Inf(1)), 0.000123})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `[null,1,0.5,1.235e+05,null,0.000123]` {
		t.Fatalf("got %s", b)
	}
	var back []*float64
	if err := json.Unmarshal(b, &back); err != nil || back[0] != nil || *back[1] != 1 {
		t.Fatalf("not JSON a browser reads: %v %v", back, err)
	}
	if b, _ := json.Marshal(Series{}); string(b) != "[]" {
		t.Fatalf("empty series %s", b)
	}
}

// fixedHosts is a balancer status with n hosts whose counters grow by one
// request per read: enough to fill every series of every host.
type fixedHosts struct {
	n     int
	reads uint64
}

func (f *fixedHosts) Status() loadbalancer.Status {
	f.reads++
	st := loadbalancer.Status{Hosts: make([]strategy.HostStats, f.n)}
	for i := range st.Hosts {
		st.Hosts[i] = strategy.HostStats{Address: fmt.Sprintf("127.0.0.1:%d", 1000+i), Requests: 10 * f.reads, Failures: f.reads, Score: 0.5}
		st.Hosts[i].Latencies[40] = 10 * f.reads
	}
	return st
}

func heapNow() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// The history's memory is fixed per host, whatever the uptime: measured
// after the first sample, after one window, and after three, with the
// default window and resolution. The package doc quotes the per-host
// figure this test logs.
func TestHistoryMemoryPerHost(t *testing.T) {
	const hosts = 20
	src := &fixedHosts{n: hosts}
	before := heapNow()
	h := newHistory(DefaultHistoryWindow, DefaultHistoryResolution)
	h.addBalancer("users", src)
	t0 := time.Now()
	h.sample(t0)
	first := heapNow()
	perHost := float64(first-before) / hosts
	n := h.n
	for i := 1; i < n; i++ {
		h.sample(t0.Add(time.Duration(i) * time.Second))
	}
	oneWindow := heapNow()
	for i := n; i < 3*n; i++ {
		h.sample(t0.Add(time.Duration(i) * time.Second))
	}
	threeWindows := heapNow()
	t.Logf("history of %d samples: %.0f bytes per host; heap after 1 sample %d, 1 window %d, 3 windows %d",
		n, perHost, first-before, oneWindow-before, threeWindows-before)
	if perHost > 32<<10 {
		t.Errorf("%.0f bytes per host, want at most 32 KiB", perHost)
	}
	if grow := float64(threeWindows) - float64(oneWindow); grow > 0.05*float64(first-before) {
		t.Errorf("the heap grew by %.0f bytes over two more windows: not fixed", grow)
	}
	if s := h.snapshot(0); len(s.Times) != n || len(s.Balancers[0].Hosts) != hosts {
		t.Fatalf("history holds %d samples of %d hosts", len(s.Times), len(s.Balancers[0].Hosts))
	}
	runtime.KeepAlive(h)
}

// Fields the page does not know by name, such as an ejection state that a
// later strategy.HostStats may carry, are passed on as they are.
func TestExtraFields(t *testing.T) {
	h := strategy.HostStats{Address: "127.0.0.1:1", Score: 0.69, Requests: 3}
	for k := range hostState(&h) { // other fields may come: not these
		if shownFields[k] {
			t.Errorf("state repeats %s, which the page shows by name", k)
		}
	}
	for _, k := range []string{"Address", "Score", "Requests", "Latencies", "InFlight"} {
		if !shownFields[k] {
			t.Errorf("%s is not among the fields the page shows by name", k)
		}
	}
	type later struct {
		Address    string
		Score      float64
		Ejected    bool
		EjectedFor time.Duration
		EjectedAt  time.Time
		RampUntil  time.Time // zero: left out
		RampWeight float64
		Odd        float64 // NaN: no JSON for it
		Reason     string
		Ejections  uint64
		Level      int8
		Neighbours []string // not shown
		unexported bool
	}
	at := time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC)
	got := extraFields(reflect.ValueOf(later{Address: "x", Score: 1, Ejected: true, EjectedFor: 30 * time.Second, EjectedAt: at,
		RampWeight: 0.25, Odd: math.NaN(), Reason: "5 consecutive failures", Ejections: 3, Level: -1, Neighbours: []string{"y"}, unexported: true}))
	want := map[string]any{"Ejected": true, "EjectedFor": "30s", "EjectedAt": at, "RampWeight": 0.25,
		"Reason": "5 consecutive failures", "Ejections": uint64(3), "Level": int64(-1)}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if _, err := json.Marshal(got); err != nil {
		t.Fatal(err)
	}
}
