package stringsvc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd/lb"
)

// Outcome is what one call through a client returned, in the terms go-kit
// code inspects: the response, or the lb.RetryError (every attempt's error
// and the final one) or the deadline. Two clients that behave the same give
// equal Outcomes for the same calls.
type Outcome struct {
	// V is the response of a call that succeeded.
	V string
	// Attempts is len(RawErrors) of the call's lb.RetryError.
	Attempts int
	// Final is the message of its Final error, unless NoEndpoints.
	Final string
	// NoEndpoints reports a Final error that is lb.ErrNoEndpoints (lbkit's
	// may say more, such as a discovery error, so only its identity is
	// compared).
	NoEndpoints bool
	// Deadline reports a call that ran out of time: go-kit returns the bare
	// context error, lbkit an error that wraps it.
	Deadline bool
	// Other holds an error that is none of the above.
	Other string
}

// Call calls uppercase with s and describes what it returned.
func Call(uppercase endpoint.Endpoint, s string) Outcome {
	resp, err := uppercase(context.Background(), s)
	if err == nil {
		v, _ := resp.(string)
		return Outcome{V: v}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Outcome{Deadline: true}
	}
	var re lb.RetryError
	if !errors.As(err, &re) {
		return Outcome{Other: err.Error()}
	}
	o := Outcome{Attempts: len(re.RawErrors)}
	if errors.Is(re.Final, lb.ErrNoEndpoints) {
		o.NoEndpoints = true
	} else if re.Final != nil {
		o.Final = re.Final.Error()
	}
	return o
}

// WaitReady waits until c's balancer has an endpoint: discovery reaches
// either client on a goroutine of its own, shortly after it is built.
func WaitReady(t *testing.T, c Client) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := c.Balancer.Endpoint(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no endpoint after 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
