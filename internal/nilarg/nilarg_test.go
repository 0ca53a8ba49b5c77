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
