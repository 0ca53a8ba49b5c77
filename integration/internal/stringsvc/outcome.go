package stringsvc

import (
	"context"
	"errors"
	"reflect"
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

// Run calls c once per input, in order, and returns what each call
// returned and how many calls each of ins served meanwhile.
func Run(c Client, inputs []string, ins []*Instance) (got []Outcome, served []int64) {
	before := make([]int64, len(ins))
	for i, in := range ins {
		before[i] = in.Served.Load()
	}
	for _, s := range inputs {
		got = append(got, Call(c.Uppercase, s))
	}
	for i, in := range ins {
		served = append(served, in.Served.Load()-before[i])
	}
	return got, served
}

// WaitServing calls c until every one of ins has served one of its calls,
// or fails the test after 10s: c has then learnt of them all.
func WaitServing(t *testing.T, c Client, ins []*Instance) {
	t.Helper()
	before := make([]int64, len(ins))
	for i, in := range ins {
		before[i] = in.Served.Load()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		Call(c.Uppercase, "warm up")
		all := true
		for i, in := range ins {
			all = all && in.Served.Load() > before[i]
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("not every instance was called within 10s")
		}
	}
}

// WaitGone calls c until a round of calls reaches gone no more, or fails
// the test after 10s: c has then learnt that gone left. With round robin
// over n instances, a round of 2n calls reaches every one of them.
func WaitGone(t *testing.T, c Client, gone *Instance, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		before := gone.Served.Load()
		for range 2 * n {
			Call(c.Uppercase, "settle")
		}
		if gone.Served.Load() == before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the removed instance is still called after 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Compare runs the same calls through every client of built (Run), and
// fails the test unless each returned want, call by call, and all spread
// their calls over ins alike. The instance at index idle (-1: none) must
// have served none of them, every other instance some.
func Compare(t *testing.T, stage string, built map[string]Client, inputs []string, want []Outcome, ins []*Instance, idle int) {
	t.Helper()
	var first []int64
	var firstName string
	for name, c := range built {
		got, served := Run(c, inputs, ins)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s, %s client:\n got %+v\nwant %+v", stage, name, got, want)
		}
		for i, n := range served {
			if (i == idle) != (n == 0) {
				t.Errorf("%s, %s client: calls per instance %v", stage, name, served)
				break
			}
		}
		if first == nil {
			first, firstName = served, name
		} else if !reflect.DeepEqual(served, first) {
			t.Errorf("%s: calls per instance: %s %v, %s %v", stage, firstName, first, name, served)
		}
	}
}
