package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd/lb"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// exampleFactory makes in-process endpoints: the instance 10.0.0.1:80 is
// broken, the others answer with their address.
func exampleFactory(instance string) (endpoint.Endpoint, io.Closer, error) {
	if instance == "10.0.0.1:80" {
		return func(context.Context, any) (any, error) { return nil, errors.New("connection refused") }, nil, nil
	}
	return func(context.Context, any) (any, error) { return "hello from " + instance, nil }, nil, nil
}

// Retry replaces go-kit's lb.Retry unchanged: any lb.Balancer, here go-kit's
// own round robin over fixed endpoints, the first of which fails.
func ExampleRetry() {
	broken := func(context.Context, any) (any, error) { return nil, errors.New("connection refused") }
	working := func(context.Context, any) (any, error) { return "ok", nil }
	balancer := lb.NewRoundRobin(fixedEndpointer{broken, working})

	call := retry.Retry(3, time.Second, balancer)
	resp, err := call(context.Background(), "request")
	fmt.Println(resp, err)
	// Output: ok <nil>
}

// fixedEndpointer is go-kit's sd.FixedEndpointer in miniature.
type fixedEndpointer []endpoint.Endpoint

func (f fixedEndpointer) Endpoints() ([]endpoint.Endpoint, error) { return f, nil }

// With lbkit's balancer, a retry goes to a host the call has not tried:
// with one broken host of two, every call succeeds by its second attempt.
func ExampleNew() {
	pub, _ := static.NewAddresses("10.0.0.1:80", "10.0.0.2:80")
	defer pub.Stop()
	bal, _ := loadbalancer.New(pub, exampleFactory, loadbalancer.WithStrategy(strategy.RoundRobin{}))
	defer bal.Close()

	r, err := retry.New(bal,
		retry.WithMaxAttempts(3),
		retry.WithTimeout(2*time.Second),
		retry.WithAttemptTimeout(500*time.Millisecond),
		retry.WithBackoff(5*time.Millisecond, 100*time.Millisecond),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	for range 4 {
		resp, err := r.Endpoint()(context.Background(), "request")
		fmt.Println(resp, err)
	}
	// Output:
	// hello from 10.0.0.2:80 <nil>
	// hello from 10.0.0.2:80 <nil>
	// hello from 10.0.0.2:80 <nil>
	// hello from 10.0.0.2:80 <nil>
}

// The error after the last attempt lists every attempt and answers
// errors.Is and errors.As for each of them.
func ExampleError() {
	errRefused := errors.New("connection refused")
	errBusy := errors.New("503 busy")
	n := 0
	bal := balancerFunc(func() (endpoint.Endpoint, error) {
		return func(context.Context, any) (any, error) {
			n++
			if n == 1 {
				return nil, errRefused
			}
			return nil, errBusy
		}, nil
	})
	_, err := retry.Retry(2, time.Second, bal)(context.Background(), nil)

	var re *retry.Error
	if errors.As(err, &re) {
		for _, a := range re.Attempts {
			fmt.Printf("attempt %d: %v\n", a.N, a.Err)
		}
	}
	fmt.Println(errors.Is(err, errRefused), errors.Is(err, errBusy))
	var gokit lb.RetryError // go-kit code keeps working
	fmt.Println(errors.As(err, &gokit), gokit.Final)
	// Output:
	// attempt 1: connection refused
	// attempt 2: 503 busy
	// true true
	// true 503 busy
}

// An endpoint marks errors that no retry can cure with Permanent; the
// Retrier stops at them.
func ExamplePermanent() {
	calls := 0
	bal := balancerFunc(func() (endpoint.Endpoint, error) {
		return func(context.Context, any) (any, error) {
			calls++
			return nil, retry.Permanent(errors.New("400 bad request"))
		}, nil
	})
	r, _ := retry.New(bal)
	defer r.Close()
	_, err := r.Endpoint()(context.Background(), nil)
	fmt.Println(calls, retry.IsPermanent(err))
	// Output: 1 true
}

// One budget shared by two Retriers: retries through both together stay
// within 10% of their requests plus one per second.
func ExampleNewBudget() {
	budget, err := retry.NewBudget(0.1, 1, 10*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	bal := balancerFunc(func() (endpoint.Endpoint, error) {
		return func(context.Context, any) (any, error) { return nil, errors.New("down") }, nil
	})
	a, _ := retry.New(bal, retry.WithBudget(budget), retry.WithoutBackoff())
	b, _ := retry.New(bal, retry.WithBudget(budget), retry.WithoutBackoff())
	defer a.Close()
	defer b.Close()
	refused := 0
	for range 100 {
		for _, r := range []*retry.Retrier{a, b} {
			if _, err := r.Endpoint()(context.Background(), nil); errors.Is(err, retry.ErrBudgetExhausted) {
				refused++
			}
		}
	}
	st := budget.Stats()
	fmt.Println(st.Requests, st.Retries, refused)
	// Output: 200 30 195
}

// Hedging for an idempotent call: when the first attempt has not answered
// after the delay, a second starts on another host; the first answer wins
// and the slower attempt is cancelled.
func ExampleWithHedging() {
	slow := func(ctx context.Context, _ any) (any, error) {
		<-ctx.Done() // answers only when cancelled
		return nil, ctx.Err()
	}
	fast := func(context.Context, any) (any, error) { return "fast", nil }
	pub, _ := static.NewAddresses("10.0.0.1:80", "10.0.0.2:80")
	defer pub.Stop()
	bal, _ := loadbalancer.New(pub, func(instance string) (endpoint.Endpoint, io.Closer, error) {
		if instance == "10.0.0.1:80" {
			return slow, nil, nil
		}
		return fast, nil, nil
	}, loadbalancer.WithStrategy(strategy.RoundRobin{}))
	defer bal.Close()

	r, err := retry.New(bal, retry.WithHedging(10*time.Millisecond), retry.WithHedgeCap(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 2 { // whichever host a call starts on, the fast one answers
		resp, err := r.Endpoint()(context.Background(), nil)
		fmt.Println(resp, err)
	}
	r.Close() // waits for the cancelled attempts to return
	// Output:
	// fast <nil>
	// fast <nil>
}
