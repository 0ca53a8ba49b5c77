package statuspage_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"go.uber.org/goleak"

	"github.com/seed41aebe0c/lbkit/herd"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/statuspage"
	"github.com/seed41aebe0c/lbkit/strategy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func balancer(t *testing.T) *loadbalancer.Balancer {
	t.Helper()
	p, err := static.NewAddresses("127.0.0.1:1", "127.0.0.1:2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	f := func(addr string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) {
			if strings.HasSuffix(addr, ":2") {
				return nil, errors.New("down")
			}
			return nil, nil
		}, nil, nil
	}
	b, err := loadbalancer.New(p, f, loadbalancer.WithStrategy(strategy.RoundRobin{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	for range 10 {
		e, _ := b.Endpoint()
		e(context.Background(), nil)
	}
	return b
}

func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func post(t *testing.T, srv *httptest.Server, body string) (int, string) {
	t.Helper()
	resp, err := srv.Client().Post(srv.URL+"/control", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestJSONAndAssets(t *testing.T) {
	page, err := statuspage.New(statuspage.WithTitle("users"), statuspage.WithBalancer("users", balancer(t)),
		statuspage.WithPool("conns", func() []statuspage.PoolRow {
			return []statuspage.PoolRow{{Name: "127.0.0.1:1", Counts: map[string]int64{"idle": 2}}}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer page.Close()
	srv := httptest.NewServer(page)
	defer srv.Close()

	code, body := get(t, srv, "/status.json")
	if code != http.StatusOK {
		t.Fatalf("status.json: %d %s", code, body)
	}
	var snap statuspage.Snapshot
	if err := json.Unmarshal([]byte(body), &snap); err != nil {
		t.Fatal(err)
	}
	if snap.Title != "users" || len(snap.Balancers) != 1 || len(snap.Balancers[0].Hosts) != 2 {
		t.Fatalf("snapshot %+v", snap)
	}
	for _, h := range snap.Balancers[0].Hosts {
		if h.Requests != 5 || h.Share != 0 {
			t.Errorf("host %+v: want 5 requests, and no share before the first interval", h)
		}
		if strings.HasSuffix(h.Address, ":2") && (h.Failures != 5 || h.Score != 0) {
			t.Errorf("failing host %+v", h)
		}
	}
	if len(snap.Pools) != 1 || snap.Pools[0].Rows[0].Counts["idle"] != 2 {
		t.Fatalf("pools %+v", snap.Pools)
	}
	for path, want := range map[string]string{"/": "app.js", "/app.js": "status.json", "/style.css": "table"} {
		if code, body := get(t, srv, path); code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("%s: %d, lacks %q", path, code, want)
		}
	}
}

func TestReadOnlyByDefault(t *testing.T) {
	page, _ := statuspage.New(statuspage.WithBalancer("users", balancer(t)))
	defer page.Close()
	srv := httptest.NewServer(page)
	defer srv.Close()
	if code, _ := post(t, srv, `{"name":"x","value":1}`); code != http.StatusForbidden {
		t.Fatalf("change on a read-only page: %d", code)
	}
}

func TestControls(t *testing.T) {
	size := 4
	c := statuspage.Control{
		Get: func() int { return size },
		Set: func(n int) error {
			if n == 13 {
				return errors.New("unlucky")
			}
			size = n
			return nil
		},
		Min: 1, Max: 64,
	}
	page, err := statuspage.New(statuspage.WithControl("herd size", c))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(page)
	defer srv.Close()
	if code, body := post(t, srv, `{"name":"herd size","value":8}`); code != http.StatusOK || size != 8 {
		t.Fatalf("set: %d %s size=%d", code, body, size)
	}
	for body, want := range map[string]int{
		`{"name":"herd size","value":0}`:  http.StatusBadRequest,
		`{"name":"herd size","value":65}`: http.StatusBadRequest,
		`{"name":"nope","value":3}`:       http.StatusNotFound,
		`not json`:                        http.StatusBadRequest,
		`{"name":"herd size","value":13}`: http.StatusConflict,
	} {
		if code, _ := post(t, srv, body); code != want {
			t.Errorf("%s: %d, want %d", body, code, want)
		}
	}
	if size != 8 {
		t.Fatalf("size changed by a refused request: %d", size)
	}
	_, body := get(t, srv, "/status.json")
	if !strings.Contains(body, `"name":"herd size","value":8`) {
		t.Fatalf("controls not in JSON: %s", body)
	}
}

func TestBadOptions(t *testing.T) {
	var typedNil *loadbalancer.Balancer
	var nilHerd *herd.Herd[int, int]
	ok := statuspage.Control{Get: func() int { return 0 }, Set: func(int) error { return nil }, Min: 0, Max: 1}
	b := balancer(t)
	rt, err := retry.New(b)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	for name, opts := range map[string][]statuspage.Option{
		"nil balancer":         {statuspage.WithBalancer("x", nil)},
		"typed nil balancer":   {statuspage.WithBalancer("x", typedNil)},
		"duplicate balancer":   {statuspage.WithBalancer("x", b), statuspage.WithBalancer("x", b)},
		"nil rows":             {statuspage.WithPool("x", nil)},
		"empty control":        {statuspage.WithControl("x", statuspage.Control{})},
		"min above max":        {statuspage.WithControl("x", statuspage.Control{Get: ok.Get, Set: ok.Set, Min: 2, Max: 1})},
		"duplicate control":    {statuspage.WithControl("x", ok), statuspage.WithControl("x", ok)},
		"nil resizer":          {statuspage.WithControl("x", statuspage.SizeControl(nil, 1, 2))},
		"typed nil resizer":    {statuspage.WithControl("x", statuspage.SizeControl(nilHerd, 1, 2))},
		"nil option":           {nil},
		"nil retrier":          {statuspage.WithBalancer("x", b), statuspage.WithRetrier("x", nil)},
		"typed nil retrier":    {statuspage.WithBalancer("x", b), statuspage.WithRetrier("x", (*retry.Retrier)(nil))},
		"second retrier":       {statuspage.WithBalancer("x", b), statuspage.WithRetrier("x", rt), statuspage.WithRetrier("x", rt)},
		"retrier, no balancer": {statuspage.WithBalancer("x", b), statuspage.WithRetrier("y", rt)},
		"history too fine":     {statuspage.WithHistory(time.Second, time.Millisecond)},
		"history too short":    {statuspage.WithHistory(time.Second, time.Second)},
		"history uneven":       {statuspage.WithHistory(1500*time.Millisecond, time.Second)},
		"history too long":     {statuspage.WithHistory(48*time.Hour, time.Second)},
	} {
		if _, err := statuspage.New(opts...); !errors.Is(err, statuspage.ErrInvalidArgument) {
			t.Errorf("%s: err %v, want ErrInvalidArgument", name, err)
		}
	}
	if page, err := statuspage.New(statuspage.WithBalancer("x", b), statuspage.WithBalancer("y", b), statuspage.WithControl("x", ok)); err != nil {
		t.Errorf("distinct names refused: %v", err)
	} else {
		page.Close()
	}
}

// Instances whose factory call failed have no host row; the page lists them
// with their error, and counts the failures.
func TestFactoryFailuresShown(t *testing.T) {
	p, err := static.NewAddresses("127.0.0.1:1", "127.0.0.1:3")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	b, err := loadbalancer.New(p, func(addr string) (endpoint.Endpoint, io.Closer, error) {
		if strings.HasSuffix(addr, ":3") {
			return nil, nil, errors.New("cannot dial 127.0.0.1:3")
		}
		return func(context.Context, any) (any, error) { return nil, nil }, nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	page, err := statuspage.New(statuspage.WithBalancer("users", b))
	if err != nil {
		t.Fatal(err)
	}
	defer page.Close()
	srv := httptest.NewServer(page)
	defer srv.Close()
	_, body := get(t, srv, "/status.json")
	var snap struct {
		Balancers []struct {
			FactoryErrors   uint64 `json:"factoryErrors"`
			FactoryFailures []struct {
				Address string `json:"address"`
				Err     string `json:"err"`
			} `json:"factoryFailures"`
		} `json:"balancers"`
	}
	if err := json.Unmarshal([]byte(body), &snap); err != nil {
		t.Fatal(err)
	}
	if bs := snap.Balancers[0]; bs.FactoryErrors != 1 || len(bs.FactoryFailures) != 1 ||
		bs.FactoryFailures[0].Address != "127.0.0.1:3" || bs.FactoryFailures[0].Err != "cannot dial 127.0.0.1:3" {
		t.Fatalf("status.json does not show the factory failure: %s", body)
	}
	if _, js := get(t, srv, "/app.js"); !strings.Contains(js, "factoryFailures") || !strings.Contains(js, "factoryErrors") {
		t.Fatal("the page does not render factory failures")
	}
}
