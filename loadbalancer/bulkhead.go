package loadbalancer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/limit"
	"github.com/seed41aebe0c/lbkit/publisher"
)

// ErrHostSaturated is returned, wrapped with the host's address, by a call
// that found its host at its concurrency limit (WithHostConcurrency,
// WithBulkhead) and got no slot within the wait. The call never reached
// the host.
//
// It counts against the host like any failed call: with the default
// strategy.ErrorScorer it scores 0 and is a failure in Status, and the time spent
// waiting is its latency. That is deliberate: a host that is full is a
// poor pick right now, and learning strategies should send less to it
// until calls there end. A Scorer that sees errors.Is(err,
// ErrHostSaturated) can score it otherwise. A retrying endpoint (package
// retry) treats it as any error and tries another host.
var ErrHostSaturated = errors.New("loadbalancer: host concurrency limit reached")

// WithHostConcurrency caps the calls under way to each host at n (a
// bulkhead: one slow host cannot take every caller with it). A call to a
// full host waits up to wait for a slot, in line with other waiting calls;
// with wait 0 it fails at once. A call that gets no slot fails with
// ErrHostSaturated (see there for how it is counted). A caller whose own
// context ends while waiting gets the context's error instead.
func WithHostConcurrency(n int, wait time.Duration) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: host concurrency limit %d, want at least 1", ErrInvalidArgument, n)
		}
		if wait < 0 {
			return fmt.Errorf("%w: negative wait %v", ErrInvalidArgument, wait)
		}
		// A limiter with a default target and no Leases channel starts no
		// goroutine and remembers only hosts with calls under way, so it
		// needs no Close and does not grow with every host ever seen.
		p, err := limit.New[string](limit.WithDefaultTarget(n))
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
		}
		c.middlewares = append(c.middlewares, bulkhead(p, wait))
		return nil
	}
}

// WithBulkhead is WithHostConcurrency with limits that p holds, keyed by
// instance address: set a host's limit with p.Set (and change it at
// runtime), and give the rest one with limit.WithDefaultTarget. A host
// whose target is 0 gets no calls through. The balancer neither closes p
// nor calls its Leases; once p is closed, every call fails with an error
// wrapping limit.ErrClosed.
func WithBulkhead(p *limit.Limiter[string], wait time.Duration) Option {
	return func(c *config) error {
		if p == nil {
			return fmt.Errorf("%w: nil limiter", ErrInvalidArgument)
		}
		if wait < 0 {
			return fmt.Errorf("%w: negative wait %v", ErrInvalidArgument, wait)
		}
		c.middlewares = append(c.middlewares, bulkhead(p, wait))
		return nil
	}
}

func bulkhead(p *limit.Limiter[string], wait time.Duration) Middleware {
	return func(in publisher.Instance, next endpoint.Endpoint) endpoint.Endpoint {
		addr := in.Address
		// Made once per host, so a rejection allocates nothing.
		saturated := fmt.Errorf("%w: %s", ErrHostSaturated, addr)
		stopped := fmt.Errorf("loadbalancer: bulkhead for %s: %w", addr, limit.ErrClosed)
		return func(ctx context.Context, req any) (any, error) {
			l, ok := p.TryAcquire(addr)
			if !ok {
				select {
				case <-p.Done():
					return nil, stopped
				default:
				}
				if wait == 0 {
					return nil, saturated
				}
				var err error
				if l, err = acquireWithin(ctx, p, addr, wait); err != nil {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					return nil, saturated
				}
			}
			defer l.Release()
			return next(ctx, req)
		}
	}
}

func acquireWithin(ctx context.Context, p *limit.Limiter[string], addr string, wait time.Duration) (*limit.Lease[string], error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return p.Acquire(ctx, addr)
}
