package dnssrv

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/seed41aebe0c/lbkit/publisher"
)

func TestDecode(t *testing.T) {
	records := []*net.SRV{
		{Target: "B.example.com.", Port: 8080, Priority: 10, Weight: 5},
		{Target: "a.example.com", Port: 9090, Priority: 20, Weight: 0},
		{Target: "2001:db8::1", Port: 443, Priority: 1, Weight: 7},
		{Target: "10.0.0.1.", Port: 80},
		{Target: "zero.example.com.", Port: 0, Priority: 1, Weight: 1},
		nil,
		{Target: "", Port: 1},
		{Target: "bad name.example.", Port: 1},
		{Target: "a..b.", Port: 1},
		{Target: "trailing..", Port: 1},
		{Target: strings.Repeat("x", 64) + ".example.", Port: 1},
		{Target: strings.Repeat("abcdefghi.", 26), Port: 1},
		{Target: ".", Port: 1},
	}
	ins, skipped := Decode(records)
	want := []publisher.Instance{
		{Address: "b.example.com:8080", Weight: 5, Priority: 10},
		{Address: "a.example.com:9090", Weight: 0, Priority: 20},
		{Address: "[2001:db8::1]:443", Weight: 7, Priority: 1},
		{Address: "10.0.0.1:80"},
	}
	if len(ins) != len(want) {
		t.Fatalf("got %d instances %v, want %d", len(ins), ins, len(want))
	}
	for i := range want {
		if !ins[i].Equal(want[i]) {
			t.Errorf("instance %d = %+v, want %+v", i, ins[i], want[i])
		}
	}
	if len(skipped) != 8 {
		t.Fatalf("got %d skipped %v, want 8 (port 0, nil, empty, space, empty label x2, long label, long name)", len(skipped), skipped)
	}
	for _, err := range skipped {
		if !errors.Is(err, ErrBadRecord) {
			t.Errorf("skipped error %v does not wrap ErrBadRecord", err)
		}
	}
	if !strings.Contains(skipped[0].Error(), "port 0") {
		t.Errorf("first skipped error %q does not mention port 0", skipped[0])
	}
}

func TestDecodeDuplicatesDoNotDependOnOrder(t *testing.T) {
	a := &net.SRV{Target: "x.example.", Port: 1, Priority: 5, Weight: 1}
	b := &net.SRV{Target: "X.example", Port: 1, Priority: 1, Weight: 1}
	c := &net.SRV{Target: "x.example", Port: 1, Priority: 1, Weight: 9}
	for _, order := range [][]*net.SRV{{a, b, c}, {c, b, a}, {b, a, c}} {
		ins, skipped := Decode(order)
		if len(skipped) != 2 || len(ins) != 1 {
			t.Fatalf("Decode = %v, %v; want one instance and two duplicates skipped", ins, skipped)
		}
		for _, err := range skipped {
			if !errors.Is(err, ErrBadRecord) || !strings.Contains(err.Error(), "duplicate address x.example:1") {
				t.Errorf("skipped %v, want a duplicate described", err)
			}
		}
		if got := ins[0]; got.Priority != 1 || got.Weight != 9 {
			t.Errorf("kept %+v, want priority 1 weight 9", got)
		}
	}
}

func TestDecodeNotAvailable(t *testing.T) {
	ins, skipped := Decode([]*net.SRV{{Target: ".", Port: 0}})
	if len(ins) != 0 || len(skipped) != 0 {
		t.Fatalf(`Decode(".") = %v, %v; want nothing and no error`, ins, skipped)
	}
}

// FuzzDecode checks that any record decodes either into a valid, dialable
// "host:port" instance with the record's port, weight and priority, or into
// an ErrBadRecord error, never a panic. The f.Add calls are its seed corpus,
// which plain `go test` runs as unit cases.
func FuzzDecode(f *testing.F) {
	f.Add("svc.example.com.", uint16(8080), uint16(1), uint16(10))
	f.Add("::1", uint16(443), uint16(0), uint16(0))
	f.Add("fe80::1%eth0", uint16(1), uint16(2), uint16(3))
	f.Add(".", uint16(0), uint16(0), uint16(0))
	f.Add("a..b", uint16(1), uint16(0), uint16(0))
	f.Add("x y.example.", uint16(53), uint16(0), uint16(0))
	f.Add("", uint16(1), uint16(0), uint16(0))
	f.Add("127.0.0.1", uint16(0), uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, target string, port, priority, weight uint16) {
		rec := &net.SRV{Target: target, Port: port, Priority: priority, Weight: weight}
		ins, skipped := Decode([]*net.SRV{rec})
		if len(ins)+len(skipped) > 1 {
			t.Fatalf("one record gave %d instances and %d errors", len(ins), len(skipped))
		}
		for _, err := range skipped {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error %v does not wrap ErrBadRecord", err)
			}
		}
		if len(ins) == 0 {
			if port != 0 && len(skipped) == 0 && target != "." {
				t.Fatalf("record %+v vanished without an error", rec)
			}
			return
		}
		in := ins[0]
		if err := in.Validate(); err != nil {
			t.Fatalf("invalid instance %+v: %v", in, err)
		}
		if in.Weight != int(weight) || in.Priority != int(priority) {
			t.Fatalf("instance %+v lost weight %d or priority %d", in, weight, priority)
		}
		host, p, err := net.SplitHostPort(in.Address)
		if err != nil {
			t.Fatalf("address %q does not split: %v", in.Address, err)
		}
		if p != strconv.Itoa(int(port)) || port == 0 {
			t.Fatalf("address %q has port %s, record had %d", in.Address, p, port)
		}
		if host == "" || strings.HasSuffix(host, ".") || host != strings.ToLower(host) && !isIP(host) {
			t.Fatalf("address %q has a non-canonical host", in.Address)
		}
		// Decoding the decoded form again is stable.
		again, _ := Decode([]*net.SRV{{Target: host + ".", Port: port, Priority: priority, Weight: weight}})
		if len(again) != 1 || !again[0].Equal(in) {
			t.Fatalf("re-decoding %q gave %v", host, again)
		}
	})
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func BenchmarkDecode(b *testing.B) {
	records := make([]*net.SRV, 10)
	for i := range records {
		records[i] = &net.SRV{Target: "host-" + strconv.Itoa(i) + ".svc.example.com.", Port: uint16(8000 + i), Priority: 1, Weight: 10}
	}
	b.ReportAllocs()
	for b.Loop() {
		Decode(records)
	}
}
