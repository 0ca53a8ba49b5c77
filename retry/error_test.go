package retry

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// keepAttempt's ring, put back in order by ordered, keeps what bounded
// keeps of the whole list, for every length.
func TestKeptAttemptsAreTheFirstAndLast(t *testing.T) {
	for total := 0; total <= 3*MaxErrorAttempts+5; total++ {
		var all, kept []Attempt
		for i := range total {
			a := Attempt{N: i + 1}
			all = append(all, a)
			kept = keepAttempt(kept, a, i)
		}
		if len(kept) > MaxErrorAttempts {
			t.Fatalf("total %d: kept %d", total, len(kept))
		}
		if got, want := ordered(kept, total), bounded(all); !slices.Equal(got, want) {
			t.Fatalf("total %d: kept %v, want %v", total, got, want)
		}
	}
}

// However long each error's text, the message quotes a bounded part.
func TestErrorMessageIsBounded(t *testing.T) {
	long := errors.New(strings.Repeat("é", 10_000))
	var all []Attempt
	for i := range 1000 {
		all = append(all, Attempt{N: i + 1, Host: fmt.Sprint("h", i), Err: long})
	}
	e := newError(long, bounded(all), len(all))
	msg := e.Error()
	if n := len(msg); n > (MaxErrorAttempts+1)*(maxErrorText+64) {
		t.Fatalf("message of %d bytes", n)
	}
	if !strings.Contains(msg, "after 1000 attempts") || !strings.Contains(msg, fmt.Sprintf("(%d more)", 1000-MaxErrorAttempts)) || !strings.Contains(msg, "#1000 h999") {
		t.Fatalf("message %.400q...", msg)
	}
	if !strings.HasSuffix(strings.SplitN(msg, " after", 2)[0], "…") {
		t.Fatal("a long error's text is not marked as cut")
	}
}
