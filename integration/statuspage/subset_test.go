package statuspage_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/statuspage"
	"github.com/seed41aebe0c/lbkit/subset"
)

var subsetLine = regexp.MustCompile(`<p class="subset" data-ready="true" data-rank="(\d+)" data-count="(\d+)" data-size="(\d+)" data-design="balanced" data-used="(\d+)" data-backends="(\d+)" data-changes="(\d+)" title="in the subset: ([^"]*)"><b>subset </b>([^<]*)</p>`)

// unanswered is a discovery source that has published nothing yet, as
// one whose first query is under way: publishers build on a
// publisher.Fanout the same way.
type unanswered struct{ publisher.Fanout }

func (u *unanswered) Stop() { u.Close() }

// TestStatusPageSubsetPanel runs a balancer over client 2 of 5's subset
// (3 backends) of seven HTTP servers on 127.0.0.1, takes one of the
// subset's backends away, and then opens the page in headless Chromium:
// it must show the subset's line with the publisher's figures, the
// subset's hosts only, the chart of the subset's changes, and no error;
// and a LowChurn subset in force before its peers are known, without a
// rank.
func TestStatusPageSubsetPanel(t *testing.T) {
	browser := chromium(t)
	var all []publisher.Instance
	for range 7 {
		all = append(all, publisher.Instance{Address: hostOf(backend(t, time.Millisecond, nil))})
	}
	back, err := static.New(all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(back.Stop)
	sub, err := subset.New(back, 3, subset.Fixed(2, 5))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Stop)
	client := &http.Client{Timeout: 2 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	lb, err := loadbalancer.New(sub, getFactory(client))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lb.Close() })
	// A second balancer, over a LowChurn subset whose peers' discovery has
	// not answered: in force, without a rank.
	var peers unanswered
	t.Cleanup(peers.Stop)
	sub2, err := subset.New(back, 2, subset.Peers(&peers, "127.0.0.1:9000"), subset.WithDesign(subset.LowChurn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub2.Stop)
	lb2, err := loadbalancer.New(sub2, func(string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) { return nil, nil }, nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lb2.Close() })
	page, err := statuspage.New(statuspage.WithTitle("subset"), statuspage.WithBalancer("users", lb), statuspage.WithSubset("users", sub),
		statuspage.WithBalancer("orders", lb2), statuspage.WithSubset("orders", sub2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { page.Close() })
	srv := httptest.NewServer(page)
	t.Cleanup(srv.Close)

	call := func(n int) {
		for range n {
			if e, err := lb.Endpoint(); err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				e(ctx, nil)
				cancel()
			}
		}
	}
	hosts := func() []string {
		var out []string
		for _, h := range lb.Status().Hosts {
			out = append(out, h.Address)
		}
		slices.Sort(out)
		return out
	}

	call(100)
	waitSamples(t, page, 2)
	// One of the subset's backends leaves.
	gone := sub.Stats().Subset[0]
	left := slices.DeleteFunc(slices.Clone(all), func(in publisher.Instance) bool { return in.Address == gone })
	if err := back.Replace(left...); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		want := slices.Sorted(slices.Values(sub.Stats().Subset))
		if !slices.Contains(want, gone) && slices.Equal(hosts(), want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the balancer's hosts %v, the subset %v, %s gone", hosts(), want, gone)
		}
		time.Sleep(time.Millisecond)
	}
	call(100)
	waitSamples(t, page, 2)
	st := sub.Stats()
	if st.Changes < 2 {
		t.Fatalf("subset stats %+v: want the change counted", st)
	}

	dom, console := loadPage(t, browser, srv.URL+"/", 3*time.Second, "")
	users, orders, ok := strings.Cut(dom, `<section class="balancer" data-name="orders"`)
	if !ok {
		t.Fatalf("no section for orders\n%s", dom)
	}
	if want := `<p class="subset" data-ready="true" data-rank="-1" data-count="0" data-size="2" data-design="low-churn" data-used="2" data-backends="6" data-changes="`; !strings.Contains(orders, want) ||
		!strings.Contains(orders, "low-churn · client rank not known yet · uses 2 of 6 backends") {
		t.Errorf("the low-churn subset's line is not shown as %s", want)
	}
	m := subsetLine.FindStringSubmatch(users)
	if m == nil {
		t.Fatalf("no subset line\n%s", dom)
	}
	want := []string{"2", "5", "3", "3", "6", fmt.Sprint(st.Changes), strings.Join(st.Subset, ", ")}
	if !slices.Equal(m[1:8], want) {
		t.Errorf("subset line attributes %q, want %q", m[1:8], want)
	}
	if text := fmt.Sprintf("balanced · client rank 2 of 5 · uses 3 of 6 backends · %d changes · last change ", st.Changes); !strings.HasPrefix(m[8], text) || !strings.HasSuffix(m[8], " ago)") {
		t.Errorf("subset line %q, want it to begin %q and end with the change's age", m[8], text)
	}
	for _, addr := range st.Subset {
		if !strings.Contains(users, fmt.Sprintf(`<tr class="host" data-address="%s">`, addr)) {
			t.Errorf("no host row for %s of the subset", addr)
		}
	}
	if n := strings.Count(users, `<tr class="host"`); n != 3 {
		t.Errorf("%d host rows, want the subset's 3", n)
	}
	// The chart of changes: one line, with a point per sample.
	chart := regexp.MustCompile(`id="subset-users"[^>]*>.*?<path class="subset-series" data-address="subset changes" stroke="[^"]+" d="([^"]*)"`).FindStringSubmatch(dom)
	if chart == nil || strings.Count(chart[1], "L") < 3 {
		t.Errorf("the subset chart lacks its line: %v", chart)
	}
	if m := bodyErrors.FindStringSubmatch(dom); m == nil || m[2] != "0" || m[1] == "0" {
		t.Errorf("page updates and errors: %v", m)
	}
	if lines := consoleLine.FindAllString(console, -1); len(lines) > 0 {
		t.Errorf("console messages:\n%s", strings.Join(lines, "\n"))
	}
}
