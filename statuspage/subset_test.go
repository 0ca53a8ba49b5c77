package statuspage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/statuspage"
	"github.com/seed41aebe0c/lbkit/subset"
)

func loopback(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("127.0.0.1:%d", from+i)
	}
	return out
}

func instances(addrs []string) []publisher.Instance {
	out := make([]publisher.Instance, len(addrs))
	for i, a := range addrs {
		out[i] = publisher.Instance{Address: a}
	}
	return out
}

// subsetBalancer is a balancer over client rank's subset of size of the
// backends, with in-process endpoints.
func subsetBalancer(t *testing.T, backends []string, size, rank, count int) (*static.Publisher, *subset.Publisher, *loadbalancer.Balancer) {
	t.Helper()
	back, err := static.NewAddresses(backends...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(back.Stop)
	sub, err := subset.New(back, size, subset.Fixed(rank, count))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Stop)
	b, err := loadbalancer.New(sub, func(string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) { return nil, nil }, nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return back, sub, b
}

func hostAddresses(st loadbalancer.Status) []string {
	var out []string
	for _, h := range st.Hosts {
		out = append(out, h.Address)
	}
	slices.Sort(out)
	return out
}

// The page shows a balancer's subset as the subsetting publisher has it,
// in status.json, and follows it when the backends change; the history
// counts the backends that entered or left it per interval.
func TestSubsetFollowsBackends(t *testing.T) {
	addrs := loopback(1001, 12)
	back, sub, b := subsetBalancer(t, addrs, 3, 1, 4)
	page, err := statuspage.New(statuspage.WithBalancer("users", b), statuspage.WithSubset("users", sub),
		statuspage.WithHistory(10*time.Second, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer page.Close()
	srv := httptest.NewServer(page)
	defer srv.Close()

	snapshot := func() *statuspage.SubsetStatus {
		t.Helper()
		code, body := get(t, srv, "/status.json")
		var snap statuspage.Snapshot
		if err := json.Unmarshal([]byte(body), &snap); code != http.StatusOK || err != nil {
			t.Fatalf("status.json: %d %v", code, err)
		}
		s := snap.Balancers[0].Subset
		if s == nil {
			t.Fatalf("no subset in %s", body)
		}
		if s.Changed == nil || s.ChangedAgeMs == nil || *s.ChangedAgeMs < 0 ||
			*s.ChangedAgeMs > float64(snap.Time.Sub(*s.Changed).Milliseconds())+1 {
			t.Fatalf("changed %v, age %v ms, snapshot at %v", s.Changed, s.ChangedAgeMs, snap.Time)
		}
		return s
	}
	want, _ := subset.Assign(addrs, 1, 4, 3)
	s := snapshot()
	if !s.Ready || s.Rank != 1 || s.Count != 4 || s.Size != 3 || s.Design != "balanced" || s.Backends != 12 || s.Used != 3 ||
		!slices.Equal(s.Subset, want) || s.Changes != 0 {
		t.Fatalf("subset %+v, want client 1 of 4 using %v of 12 backends, no change yet", s, want)
	}
	firstChange := *s.Changed

	// Two of the subset's backends leave and two new ones come.
	moved := slices.DeleteFunc(slices.Clone(addrs), func(a string) bool { return a == want[0] || a == want[2] })
	moved = append(moved, loopback(1101, 2)...)
	if err := back.Replace(instances(moved)...); err != nil {
		t.Fatal(err)
	}
	wantNow, _ := subset.Assign(moved, 1, 4, 3)
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(sub.Stats().Subset, wantNow) {
		if time.Now().After(deadline) {
			t.Fatalf("the subset is %v, want %v", sub.Stats().Subset, wantNow)
		}
		time.Sleep(time.Millisecond)
	}
	st := sub.Stats()
	s = snapshot()
	if !s.Ready || s.Backends != 12 || s.Used != 3 || !slices.Equal(s.Subset, wantNow) ||
		s.Changes == 0 || s.Changes != st.Changes || !s.Changed.After(firstChange) {
		t.Fatalf("after the change: subset %+v, want %v and the publisher's %d changes", s, wantNow, st.Changes)
	}
	// The balancer, which balances over the subset, follows it.
	slices.Sort(wantNow)
	for !slices.Equal(hostAddresses(b.Status()), wantNow) {
		if time.Now().After(deadline) {
			t.Fatalf("balancer hosts %v, want the subset %v", hostAddresses(b.Status()), wantNow)
		}
		time.Sleep(time.Millisecond)
	}

	// Every change is counted in exactly one interval of the history:
	// wait for a sample taken after the change.
	after := time.Now().UnixMilli()
	var h statuspage.History
	for {
		h = page.History(time.Time{})
		if n := len(h.Times); n > 0 && h.Times[n-1] > after {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no sample after the change")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var sum float64
	for _, v := range h.Balancers[0].Series["subsetChanges"] {
		if v == v {
			sum += float64(v)
		}
	}
	if sum != float64(st.Changes) {
		t.Fatalf("the history counts %v subset changes, the publisher %d: %v", sum, st.Changes, h.Balancers[0].Series["subsetChanges"])
	}
}

// unanswered is a discovery source that has published nothing yet, as
// one whose first query is under way: publishers build on a
// publisher.Fanout the same way.
type unanswered struct{ publisher.Fanout }

func (u *unanswered) Stop() { u.Close() }

// A subset with fewer backends than its size uses them all; before the
// coordinate is known the page says it is not ready.
func TestSubsetSmallerThanSize(t *testing.T) {
	_, sub, b := subsetBalancer(t, loopback(1001, 2), 5, 0, 1)
	page, err := statuspage.New(statuspage.WithSubset("users", sub), statuspage.WithBalancer("users", b))
	if err != nil {
		t.Fatal(err)
	}
	defer page.Close()
	s := page.Snapshot().Balancers[0].Subset
	if s == nil || !s.Ready || s.Used != 2 || s.Backends != 2 || s.Size != 5 || len(s.Subset) != 2 {
		t.Fatalf("subset %+v, want both backends of 2 with size 5", s)
	}

	// Peers whose discovery has not answered yet: no coordinate, so no
	// subset.
	var peers unanswered
	defer peers.Stop()
	back, err := static.NewAddresses(loopback(1001, 4)...)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Stop()
	waiting, err := subset.New(back, 2, subset.Peers(&peers, "127.0.0.1:9000"))
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Stop()
	page2, err := statuspage.New(statuspage.WithBalancer("users", b), statuspage.WithSubset("users", waiting))
	if err != nil {
		t.Fatal(err)
	}
	defer page2.Close()
	code, body := func() (int, string) {
		srv := httptest.NewServer(page2)
		defer srv.Close()
		return get(t, srv, "/status.json")
	}()
	var snap struct {
		Balancers []struct {
			Subset map[string]any `json:"subset"`
		} `json:"balancers"`
	}
	if err := json.Unmarshal([]byte(body), &snap); code != http.StatusOK || err != nil {
		t.Fatalf("status.json: %d %v", code, err)
	}
	got := snap.Balancers[0].Subset
	if got["ready"] != false || got["rank"] != float64(-1) || got["size"] != float64(2) || got["used"] != float64(0) {
		t.Fatalf("subset before the coordinate: %v", got)
	}
	if _, ok := got["changed"]; ok {
		t.Fatalf("a subset not ready has a change time: %v", got)
	}
}

// A LowChurn subset needs no coordinate, only the client's name: it is in
// force before the peers are known, and the page says so.
func TestSubsetLowChurnBeforePeers(t *testing.T) {
	var peers unanswered
	defer peers.Stop()
	back, err := static.NewAddresses(loopback(1001, 6)...)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Stop()
	sub, err := subset.New(back, 2, subset.Peers(&peers, "127.0.0.1:9000"), subset.WithDesign(subset.LowChurn))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	_, _, b := subsetBalancer(t, loopback(1001, 2), 2, 0, 1)
	page, err := statuspage.New(statuspage.WithBalancer("users", b), statuspage.WithSubset("users", sub))
	if err != nil {
		t.Fatal(err)
	}
	defer page.Close()
	s := page.Snapshot().Balancers[0].Subset
	if !s.Ready || s.Design != "low-churn" || s.Rank != -1 || s.Count != 0 || s.Used != 2 || s.Backends != 6 ||
		!slices.Equal(s.Subset, sub.Stats().Subset) || s.Changed == nil {
		t.Fatalf("low-churn subset before the peers %+v", s)
	}
}

func TestSubsetBadOptions(t *testing.T) {
	_, sub, b := subsetBalancer(t, loopback(1001, 4), 2, 0, 2)
	for name, opts := range map[string][]statuspage.Option{
		"nil subset":          {statuspage.WithBalancer("x", b), statuspage.WithSubset("x", nil)},
		"typed nil subset":    {statuspage.WithBalancer("x", b), statuspage.WithSubset("x", (*subset.Publisher)(nil))},
		"second subset":       {statuspage.WithBalancer("x", b), statuspage.WithSubset("x", sub), statuspage.WithSubset("x", sub)},
		"subset, no balancer": {statuspage.WithBalancer("x", b), statuspage.WithSubset("y", sub)},
	} {
		if _, err := statuspage.New(opts...); !errors.Is(err, statuspage.ErrInvalidArgument) {
			t.Errorf("%s: err %v, want ErrInvalidArgument", name, err)
		}
	}
	// One subset per balancer, on as many balancers as there are.
	page, err := statuspage.New(statuspage.WithBalancer("x", b), statuspage.WithBalancer("y", b),
		statuspage.WithSubset("x", sub), statuspage.WithSubset("y", sub))
	if err != nil {
		t.Fatalf("a subset for each of two balancers refused: %v", err)
	}
	defer page.Close()
	if snap := page.Snapshot(); snap.Balancers[0].Subset == nil || snap.Balancers[1].Subset == nil {
		t.Fatal("a balancer lost its subset")
	}
	// A balancer without WithSubset has none.
	page2, err := statuspage.New(statuspage.WithBalancer("x", b))
	if err != nil {
		t.Fatal(err)
	}
	defer page2.Close()
	if s := page2.Snapshot().Balancers[0].Subset; s != nil {
		t.Fatalf("a subset without WithSubset: %+v", s)
	}
}
