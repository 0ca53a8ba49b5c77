package consul

import (
	"context"
	"time"
)

// WithClock replaces the publisher's clock: now is read for the rate limit
// and stats, sleep is called for every wait (rate limit and back-off).
func WithClock(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) Option {
	return publisherOption(func(c *config) error {
		c.clock = funcClock{now: now, sleep: sleep}
		return nil
	})
}

// WithRand replaces the jitter source of the back-off: f returns a value in
// [0, 1), scaled to the range the back-off asks for.
func WithRand(f func() float64) Option {
	return publisherOption(func(c *config) error {
		c.backoff.Rand = func(n int64) int64 { return int64(f() * float64(n)) }
		return nil
	})
}

type funcClock struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

func (c funcClock) Now() time.Time                                   { return c.now() }
func (c funcClock) Sleep(ctx context.Context, d time.Duration) error { return c.sleep(ctx, d) }

// WithKeepInterval sets the keeper's period where DefaultKeepInterval
// would apply.
func WithKeepInterval(d time.Duration) RegistrarOption {
	return registrarOption(func(c *registrarConfig) error {
		c.keepEvery = d
		return nil
	})
}

// Period is the keeper's period.
func Period(r *Registrar) time.Duration { return r.period }
