package retry_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// lbkit's balancer takes the retry's clock readings.
var _ retry.TimedAvoider = (*loadbalancer.Balancer)(nil)

func timedBalancer(t *testing.T, opts ...loadbalancer.Option) *loadbalancer.Balancer {
	t.Helper()
	p, err := static.NewAddresses("bad:1", "good:1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	f := func(addr string) (endpoint.Endpoint, io.Closer, error) {
		return func(ctx context.Context, _ any) (any, error) {
			time.Sleep(time.Millisecond) // a latency the statistics must see
			if addr == "bad:1" {
				return nil, errors.New("bad host")
			}
			return addr, nil
		}, nil, nil
	}
	b, err := loadbalancer.NewRoundRobin(p, f, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestTimedAttemptsRecordOutcomes checks that attempts timed by the retry
// reach the hosts' statistics as untimed calls do: counts, failures,
// latency, and nothing left in flight; and that the attempts the retry
// reports have their durations.
func TestTimedAttemptsRecordOutcomes(t *testing.T) {
	for name, opts := range map[string][]loadbalancer.Option{
		"timed": nil,
		// A clock of one's own: the balancer declines, the retry times
		// attempts itself.
		"own clock": {loadbalancer.WithStatsOptions(strategy.WithClock(strategy.MonotonicClock))},
	} {
		t.Run(name, func(t *testing.T) {
			b := timedBalancer(t, opts...)
			if _, ok := b.ClockEpoch(); ok != (name == "timed") {
				t.Fatalf("ClockEpoch ok = %v", ok)
			}
			var durations []time.Duration
			r, err := retry.New(b, retry.WithoutBackoff(), retry.WithoutBudget(),
				retry.WithObserver(func(a retry.Attempt) { durations = append(durations, a.Duration) }))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for range 10 {
				resp, err := r.Endpoint()(context.Background(), nil)
				if err != nil || resp != "good:1" {
					t.Fatalf("resp %v err %v", resp, err)
				}
			}
			var requests, failures uint64
			for _, h := range b.Status().Hosts {
				requests += h.Requests
				if h.Address == "bad:1" {
					failures = h.Failures
					if h.Requests > 0 && h.Score != 0 {
						t.Errorf("bad host score %v", h.Score)
					}
				}
				if h.InFlight != 0 {
					t.Errorf("%s: %d in flight", h.Address, h.InFlight)
				}
				if h.Requests > 0 && h.Latency < time.Millisecond {
					t.Errorf("%s: latency %v, want at least the 1ms the endpoint takes", h.Address, h.Latency)
				}
			}
			if requests != uint64(len(durations)) || failures != requests-10 {
				t.Fatalf("requests %d failures %d, observed attempts %d", requests, failures, len(durations))
			}
			for _, d := range durations {
				if d < time.Millisecond {
					t.Fatalf("attempt duration %v, want at least 1ms", d)
				}
			}
		})
	}
}
