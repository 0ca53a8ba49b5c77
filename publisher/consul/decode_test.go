package consul

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

func svcEntry(addr, nodeAddr string, port int, checks ...string) *api.ServiceEntry {
	e := &api.ServiceEntry{
		Node:    &api.Node{Node: "n", Address: nodeAddr},
		Service: &api.AgentService{ID: "s", Service: "web", Address: addr, Port: port, Weights: api.AgentWeights{Passing: 1, Warning: 1}},
	}
	for n, st := range checks {
		e.Checks = append(e.Checks, &api.HealthCheck{CheckID: "c" + strconv.Itoa(n), Status: st})
	}
	return e
}

func TestDecodeAddresses(t *testing.T) {
	for _, tc := range []struct {
		addr, node string
		port       int
		want       string // "" = skipped as malformed
	}{
		{"10.0.0.1", "10.9.9.9", 80, "10.0.0.1:80"},
		{"", "10.9.9.9", 80, "10.9.9.9:80"},
		{"2001:db8::1", "", 443, "[2001:db8::1]:443"},
		{"[2001:db8::1]", "", 443, "[2001:db8::1]:443"},
		{"2001:0db8:0000::0001", "", 443, "[2001:db8::1]:443"},
		{"", "::1", 8080, "[::1]:8080"},
		{"fe80::1%eth0", "", 80, "[fe80::1%eth0]:80"},
		{"web-1.service.local", "", 80, "web-1.service.local:80"},
		{"10.0.0.1:80", "", 80, ""},
		{"[10.0.0.1]:80", "", 80, ""},
		{"http://10.0.0.1", "", 80, ""},
		{"a b", "", 80, ""},
		{"", "", 80, ""},
		{"10.0.0.1", "", 0, ""},
		{"10.0.0.1", "", -1, ""},
		{"10.0.0.1", "", 65536, ""},
		{"10.0.0.1", "", 65535, "10.0.0.1:65535"},
	} {
		ins, skipped := decode([]*api.ServiceEntry{svcEntry(tc.addr, tc.node, tc.port)}, false)
		switch {
		case tc.want == "" && (len(ins) != 0 || len(skipped) != 1 || !errors.Is(skipped[0], ErrMalformedEntry)):
			t.Errorf("%q/%q:%d: got %v %v, want skipped as malformed", tc.addr, tc.node, tc.port, ins, skipped)
		case tc.want != "" && (len(ins) != 1 || ins[0].Address != tc.want || len(skipped) != 0):
			t.Errorf("%q/%q:%d: got %v %v, want %s", tc.addr, tc.node, tc.port, ins, skipped, tc.want)
		}
	}
}

func TestDecodeHealthAndWeights(t *testing.T) {
	weighted := func(e *api.ServiceEntry, p, w int) *api.ServiceEntry {
		e.Service.Weights = api.AgentWeights{Passing: p, Warning: w}
		return e
	}
	maint := svcEntry("10.0.0.6", "", 80, api.HealthPassing)
	maint.Checks = append(maint.Checks, &api.HealthCheck{CheckID: api.NodeMaint, Status: api.HealthCritical})
	nullCheck := svcEntry("10.0.0.7", "", 80, api.HealthPassing)
	nullCheck.Checks = append(nullCheck.Checks, nil)
	entries := []*api.ServiceEntry{
		weighted(svcEntry("10.0.0.1", "", 80, api.HealthPassing, api.HealthPassing), 7, 1),
		weighted(svcEntry("10.0.0.2", "", 80, api.HealthPassing, api.HealthWarning), 7, 3),
		weighted(svcEntry("10.0.0.3", "", 80, api.HealthWarning), 7, 0),
		svcEntry("10.0.0.4", "", 80, api.HealthWarning, api.HealthCritical),
		svcEntry("10.0.0.5", "", 80, "bogus"),
		maint,
		nullCheck,
		weighted(svcEntry("10.0.0.8", "", 80), -1, 1),
		svcEntry("10.0.0.1", "", 80), // duplicate address
		svcEntry("10.0.0.9", "", 80), // no checks at all: passing, as Consul says
	}
	for _, tc := range []struct {
		includeWarning bool
		want           string
	}{
		{false, "10.0.0.1:80/7 10.0.0.9:80/1"},
		{true, "10.0.0.1:80/7 10.0.0.2:80/3 10.0.0.9:80/1"},
	} {
		ins, skipped := decode(entries, tc.includeWarning)
		var got []string
		for _, in := range ins {
			got = append(got, in.Address+"/"+strconv.Itoa(in.EffectiveWeight()))
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("includeWarning=%v: %v, want %s", tc.includeWarning, got, tc.want)
		}
		// Null check, negative weight, duplicate.
		if len(skipped) != 3 {
			t.Errorf("includeWarning=%v: skipped %v, want 3 reasons", tc.includeWarning, skipped)
		}
	}
}

func TestNextIndex(t *testing.T) {
	for _, tc := range []struct {
		waited, got, next uint64
		reset             bool
	}{
		{0, 5, 5, false},
		{5, 5, 5, false},
		{5, 9, 9, false},
		{9, 4, 0, true},
		{0, 0, 1, true},
		{7, 0, 0, true},
		{1, 1, 1, false},
	} {
		if next, reset := nextIndex(tc.waited, tc.got); next != tc.next || reset != tc.reset {
			t.Errorf("nextIndex(%d, %d) = %d, %v; want %d, %v", tc.waited, tc.got, next, reset, tc.next, tc.reset)
		}
	}
}

// TestBackoffDelays checks the policy WithBackoff configures: equal jitter
// over doubling delays, capped.
func TestBackoffDelays(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var c config
	if err := WithBackoff(100*time.Millisecond, 5*time.Second).applyPublisher(&c); err != nil {
		t.Fatal(err)
	}
	b := defaultConfig().backoff
	b.Min, b.Max, b.Rand = c.backoff.Min, c.backoff.Max, r.Int64N
	var lo, hi time.Duration = time.Hour, 0
	for n := 1; n <= 1000; n++ {
		d := b.Delay(n)
		ceil := 5 * time.Second
		if n <= 6 {
			ceil = 100 * time.Millisecond << (n - 1)
		}
		if d < ceil/2 || d > ceil {
			t.Fatalf("Delay(%d) = %v, want in [%v, %v]", n, d, ceil/2, ceil)
		}
		if n > 10 {
			lo, hi = min(lo, d), max(hi, d)
		}
	}
	// Jitter spreads retries over the whole upper half, not one value.
	if hi-lo < 2*time.Second {
		t.Fatalf("capped delays only span [%v, %v]", lo, hi)
	}
}

func TestBucket(t *testing.T) {
	start := time.Unix(1000, 0)
	b := newBucket(100*time.Millisecond, 2)
	if d := b.reserve(start); d != 0 {
		t.Fatalf("first %v", d)
	}
	if d := b.reserve(start); d != 0 {
		t.Fatalf("second (burst) %v", d)
	}
	if d := b.reserve(start); d != 100*time.Millisecond {
		t.Fatalf("third %v, want 100ms", d)
	}
	// After the caller waited its 100ms, the next one waits another 100ms.
	if d := b.reserve(start.Add(100 * time.Millisecond)); d != 100*time.Millisecond {
		t.Fatalf("fourth %v, want 100ms", d)
	}
	// A long quiet spell refills the burst, no more.
	later := start.Add(time.Hour)
	for i := range 2 {
		if d := b.reserve(later); d != 0 {
			t.Fatalf("after a quiet hour, query %d waits %v", i, d)
		}
	}
	if d := b.reserve(later); d == 0 {
		t.Fatal("burst exceeded after a quiet hour")
	}
	if d := newBucket(0, 0).reserve(start); d != 0 {
		t.Fatalf("disabled bucket waits %v", d)
	}
}

// FuzzDecode feeds decode what Consul's health endpoint could send: any
// JSON that unmarshals into entries. Whatever it is, decode must not panic,
// and every instance it returns must be usable as is.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`[]`,
		`null`,
		`[null]`,
		`[{}]`,
		`[{"Service":{"ID":"a","Port":80,"Address":"10.0.0.1"}}]`,
		`[{"Node":{"Address":"::1"},"Service":{"ID":"a","Port":8080},"Checks":[{"CheckID":"serfHealth","Status":"passing"}]}]`,
		`[{"Node":{"Address":"10.0.0.1"},"Service":{"ID":"a","Port":80,"Weights":{"Passing":3,"Warning":0}},"Checks":[{"Status":"warning"}]}]`,
		`[{"Service":{"ID":"a","Port":80,"Address":"[fe80::1%eth0]","Weights":{"Passing":-2}},"Checks":[null]}]`,
		`[{"Service":{"ID":"a","Port":70000,"Address":"x"}},{"Service":{"ID":"b","Port":1,"Address":"10.0.0.1:5"}}]`,
		`[{"Service":{"ID":"a","Port":80,"Address":"h"}},{"Service":{"ID":"b","Port":80,"Address":"h"}}]`,
		`[{"Service":{"ID":"a","Port":80,"Address":"h","Meta":{"consul.node":"spoof"}},"Checks":[{"CheckID":"_node_maintenance","Status":"passing"}]}]`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, includeWarning bool) {
		var entries []*api.ServiceEntry
		if json.Unmarshal(data, &entries) != nil {
			return
		}
		ins, skipped := decode(entries, includeWarning)
		if len(ins)+len(skipped) > len(entries) {
			t.Fatalf("%d instances and %d skipped from %d entries", len(ins), len(skipped), len(entries))
		}
		for _, err := range skipped {
			if !errors.Is(err, ErrMalformedEntry) {
				t.Fatalf("skip reason %v does not wrap ErrMalformedEntry", err)
			}
		}
		seen := map[string]bool{}
		for _, in := range ins {
			if err := in.Validate(); err != nil {
				t.Fatalf("invalid instance %+v: %v", in, err)
			}
			if seen[in.Address] {
				t.Fatalf("duplicate address %s", in.Address)
			}
			seen[in.Address] = true
			host, port, err := net.SplitHostPort(in.Address)
			if err != nil {
				t.Fatalf("address %q: %v", in.Address, err)
			}
			if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
				t.Fatalf("address %q: port %q", in.Address, port)
			}
			if host == "" || net.JoinHostPort(host, port) != in.Address {
				t.Fatalf("address %q does not round-trip", in.Address)
			}
			switch h := in.Metadata[MetaHealth]; {
			case h == api.HealthPassing:
			case h == api.HealthWarning && includeWarning:
			default:
				t.Fatalf("instance %s published with health %q (includeWarning=%v)", in.Address, h, includeWarning)
			}
		}
	})
}

// TestDecodeRealConsulResponse decodes what Consul 1.22.5 answered on
// /v1/health/service/web for two registrations: web-1 without an address
// (the node's applies) and passing, web-6 on IPv6 with weights, tags and
// meta, its TTL check in warning.
func TestDecodeRealConsulResponse(t *testing.T) {
	data, err := os.ReadFile("testdata/health-service-web.json")
	if err != nil {
		t.Fatal(err)
	}
	var entries []*api.ServiceEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		t.Fatal(err)
	}
	ins, skipped := decode(entries, false)
	if len(skipped) != 0 || len(ins) != 1 || ins[0].Address != "127.0.0.1:8081" || ins[0].EffectiveWeight() != 1 {
		t.Fatalf("passing only: %+v %v", ins, skipped)
	}
	ins, _ = decode(entries, true)
	if len(ins) != 2 {
		t.Fatalf("with warning: %+v", ins)
	}
	w := ins[1]
	if w.Address != "[2001:db8::6]:8080" || w.Weight != 1 || w.Metadata["version"] != "2" ||
		w.Metadata[MetaTags] != "v2,eu" || w.Metadata[MetaHealth] != api.HealthWarning ||
		w.Metadata[MetaNode] != "lbkit" || w.Metadata[MetaDatacenter] != "dc1" {
		t.Fatalf("web-6: %+v", w)
	}
}

// BenchmarkDecode turns a 1000-instance health answer into instances, the
// work the publisher does once per change of the set.
func BenchmarkDecode(b *testing.B) {
	entries := make([]*api.ServiceEntry, 1000)
	for i := range entries {
		e := svcEntry("10.0."+strconv.Itoa(i/250)+"."+strconv.Itoa(i%250+1), "", 8080, api.HealthPassing, api.HealthPassing)
		e.Service.Tags = []string{"v2", "eu"}
		e.Service.Meta = map[string]string{"version": "2"}
		entries[i] = e
	}
	b.ReportAllocs()
	for b.Loop() {
		ins, skipped := decode(entries, false)
		if len(ins) != len(entries) || len(skipped) != 0 {
			b.Fatalf("%d instances, %v", len(ins), skipped)
		}
	}
}
