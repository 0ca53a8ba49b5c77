package statuspage_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/statuspage"
)

// The page samples on its own from New on, serves the samples at
// history.json (all, or those after ?since=), and its status.json carries
// the last interval's figures, the discovery fields and the retrier's
// counters. Close stops the sampling and may be called again.
func TestHistoryEndpointAndIntervalFigures(t *testing.T) {
	b := balancer(t) // 127.0.0.1:1 succeeds, 127.0.0.1:2 fails; round robin
	r, err := retry.New(b, retry.WithMaxAttempts(2))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	page, err := statuspage.New(statuspage.WithBalancer("users", b), statuspage.WithRetrier("users", r),
		statuspage.WithHistory(10*time.Second, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer page.Close()
	srv := httptest.NewServer(page)
	defer srv.Close()

	waitFor := func(n int) statuspage.History {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			h := page.History(time.Time{})
			if len(h.Times) >= n {
				return h
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d samples after 10s, want %d", len(h.Times), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	start := len(waitFor(1).Times)
	for range 20 {
		r.Endpoint()(context.Background(), nil)
	}
	waitFor(start + 2) // an interval that holds every call
	snap := page.Snapshot()
	bs := snap.Balancers[0]
	if snap.IntervalMs != 100 || bs.Source != "*static.Publisher" || bs.Instances != 2 || bs.LastUpdate == nil || bs.ErrorSince != nil {
		t.Fatalf("balancer status %+v", bs)
	}
	if bs.Retry == nil || bs.Retry.Calls != 20 || bs.Retry.Retries == 0 {
		t.Fatalf("retry status %+v", bs.Retry)
	}
	// Over the whole history, every call is in exactly one interval.
	var got [2]float64
	for _, hh := range page.History(time.Time{}).Balancers[0].Hosts {
		for _, v := range hh.Series["rps"] {
			if v == v {
				got[hh.Address[len(hh.Address)-1]-'1'] += float64(v) * 0.1
			}
		}
	}
	st := b.Status()
	for i, h := range st.Hosts {
		if want := float64(h.Requests - 5); got[i] < want-0.01 || got[i] > want+0.01 { // 5 calls each before New
			t.Errorf("%s: the history counts %.1f requests, the host %d since the page began", h.Address, got[i], h.Requests-5)
		}
	}

	resp, err := srv.Client().Get(srv.URL + "/history.json")
	if err != nil {
		t.Fatal(err)
	}
	var all statuspage.History
	err = json.NewDecoder(resp.Body).Decode(&all)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(all.Times) < 3 || all.ResolutionMs != 100 || all.WindowMs != 10000 {
		t.Fatalf("history.json: %d %v %+v", resp.StatusCode, err, all)
	}
	last := all.Times[len(all.Times)-2]
	resp, err = srv.Client().Get(srv.URL + "/history.json?since=" + strconv.FormatInt(last, 10))
	if err != nil {
		t.Fatal(err)
	}
	var tail statuspage.History
	err = json.NewDecoder(resp.Body).Decode(&tail)
	resp.Body.Close()
	if err != nil || len(tail.Times) == 0 || tail.Times[0] <= last || len(tail.Balancers[0].Hosts[0].Series["rps"]) != len(tail.Times) {
		t.Fatalf("history.json?since=%d: %v %+v", last, err, tail)
	}
	if code, _ := get(t, srv, "/history.json?since=yesterday"); code != http.StatusBadRequest {
		t.Fatalf("bad since: %d, want 400", code)
	}

	if err := page.Close(); err != nil {
		t.Fatal(err)
	}
	n := len(page.History(time.Time{}).Times)
	time.Sleep(300 * time.Millisecond)
	if m := len(page.History(time.Time{}).Times); m != n {
		t.Fatalf("sampling went on after Close: %d then %d samples", n, m)
	}
	if err := page.Close(); err != nil {
		t.Fatal(err)
	}
}
