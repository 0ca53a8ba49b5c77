package backoff_test

import (
	"fmt"
	"time"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
)

func Example() {
	c := backoff.Counter{Policy: backoff.Policy{Min: 100 * time.Millisecond, Max: time.Second, Jitter: backoff.None}}
	for range 5 {
		fmt.Println(c.Next())
	}
	// Output:
	// 100ms
	// 200ms
	// 400ms
	// 800ms
	// 1s
}
