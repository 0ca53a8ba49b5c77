package etcd

import (
	"errors"
	"strings"
	"testing"

	"github.com/seed41aebe0c/lbkit/publisher"
)

func TestDecodeValue(t *testing.T) {
	good := []struct {
		in   string
		want publisher.Instance
	}{
		{"10.0.0.1:8080", publisher.Instance{Address: "10.0.0.1:8080"}},
		{"  host.example:80\n", publisher.Instance{Address: "host.example:80"}},
		{"[2001:db8::1]:443", publisher.Instance{Address: "[2001:db8::1]:443"}},
		{"http://10.0.0.1:8080", publisher.Instance{Address: "http://10.0.0.1:8080"}},
		{`{"address":"a:1"}`, publisher.Instance{Address: "a:1"}},
		{`{"address":"a:1","weight":3,"priority":2,"metadata":{"zone":"eu"},"future":true}`,
			publisher.Instance{Address: "a:1", Weight: 3, Priority: 2, Metadata: map[string]string{"zone": "eu"}}},
		{`{"address":"a:1","metadata":{}}`, publisher.Instance{Address: "a:1"}},
	}
	for _, g := range good {
		got, err := DecodeValue([]byte(g.in))
		if err != nil || !got.Equal(g.want) {
			t.Errorf("DecodeValue(%q) = %+v, %v; want %+v", g.in, got, err, g.want)
		}
	}
	bad := []string{
		"", "   ", "host", "host:", ":80", "host:0", "host:65536", "host:http", "host:+80",
		"a b:80", "a:80\x00", "ftp://", "://x", "\xff:1", strings.Repeat("a", MaxAddressLen) + ":1",
		"{", `{"address":""}`, `{"weight":1}`, `{"address":"a:1","weight":-1}`,
		`{"address":"a:1","weight":1.5}`, `{"address":"a:1","priority":70000}`,
		`{"address":"a:1","weight":2000000}`, `{"address":"a:1"} trailing`, `{"address":5}`,
		`{"address":"a:1","metadata":{"k":1}}`,
	}
	for _, b := range bad {
		if got, err := DecodeValue([]byte(b)); !errors.Is(err, ErrBadValue) {
			t.Errorf("DecodeValue(%q) = %+v, %v; want ErrBadValue", b, got, err)
		}
	}
}

func TestEncodeValue(t *testing.T) {
	plain, err := EncodeValue(publisher.Instance{Address: "10.0.0.1:80"})
	if err != nil || plain != "10.0.0.1:80" {
		t.Fatalf("plain = %q, %v", plain, err)
	}
	in := publisher.Instance{Address: "10.0.0.1:80", Weight: 2, Metadata: map[string]string{"v": "1"}}
	js, err := EncodeValue(in)
	if err != nil || js != `{"address":"10.0.0.1:80","weight":2,"metadata":{"v":"1"}}` {
		t.Fatalf("json = %q, %v", js, err)
	}
	if _, err := EncodeValue(publisher.Instance{Address: "nope"}); !errors.Is(err, ErrBadValue) {
		t.Fatalf("bad address: %v", err)
	}
	if _, err := EncodeValue(publisher.Instance{Address: "a:1", Weight: -1}); !errors.Is(err, ErrBadValue) {
		t.Fatalf("negative weight: %v", err)
	}
}

// FuzzDecodeValue checks that any value either decodes into a valid
// instance that encodes and decodes back to itself, or fails with
// ErrBadValue; never a panic. The f.Add calls are the seed corpus that plain
// `go test` runs.
func FuzzDecodeValue(f *testing.F) {
	for _, s := range []string{
		"10.0.0.1:8080", "[::1]:1", "http://h:1/x", " h:1 ", "h:0", "",
		`{"address":"a:1","weight":3,"priority":2,"metadata":{"k":"v"}}`,
		`{"address":"a:1","metadata":{"k":"\u00ff"}}`, `{"address":"a:1","weight":-1}`, "{", "\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		in, err := DecodeValue(value)
		if err != nil {
			if !errors.Is(err, ErrBadValue) {
				t.Fatalf("error %v does not wrap ErrBadValue", err)
			}
			return
		}
		if err := in.Validate(); err != nil {
			t.Fatalf("decoded an invalid instance %+v: %v", in, err)
		}
		enc, err := EncodeValue(in)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", in, err)
		}
		again, err := DecodeValue([]byte(enc))
		if err != nil || !again.Equal(in) {
			t.Fatalf("round trip of %q via %q gave %+v, %v", value, enc, again, err)
		}
	})
}

func BenchmarkDecodeValue(b *testing.B) {
	for _, c := range []struct{ name, value string }{
		{"plain", "10.0.0.1:8080"},
		{"json", `{"address":"10.0.0.1:8080","weight":3,"priority":1,"metadata":{"zone":"eu-1"}}`},
	} {
		v := []byte(c.value)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeValue(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
