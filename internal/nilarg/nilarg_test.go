package nilarg

import (
	"io"
	"strings"
	"testing"
)

func TestIsNil(t *testing.T) {
	var typed *strings.Reader
	var r io.Reader = typed
	var f func()
	for name, c := range map[string]struct {
		v    any
		want bool
	}{
		"nil":               {nil, true},
		"typed nil pointer": {r, true},
		"nil func":          {f, true},
		"pointer":           {strings.NewReader(""), false},
		"value":             {42, false},
		"func":              {func() {}, false},
		"nil slice":         {[]string(nil), false},
		"nil map":           {map[string]int(nil), false},
	} {
		if got := IsNil(c.v); got != c.want {
			t.Errorf("%s: IsNil = %v, want %v", name, got, c.want)
		}
	}
}

func TestNilField(t *testing.T) {
	type gauge interface{ Set(float64) }
	type metrics struct {
		A, B gauge
		c    gauge
	}
	var typedNil *nilGauge
	for _, tc := range []struct {
		in   any
		want string
	}{
		{&metrics{}, ""},               // nil fields are fine
		{&metrics{A: &nilGauge{}}, ""}, // a real value
		{&metrics{B: typedNil}, "metrics.B holds a nil *nilarg.nilGauge"}, // a typed nil
		{&metrics{c: typedNil}, ""},                                       // unexported: not the caller's
		{metrics{B: typedNil}, ""},                                        // not a pointer
		{(*metrics)(nil), ""},
		{nil, ""},
	} {
		if got := NilField(tc.in); got != tc.want {
			t.Errorf("NilField(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

type nilGauge struct{}

func (*nilGauge) Set(float64) {}
