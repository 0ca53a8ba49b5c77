package backoff

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// Jitter says how much of a delay is random.
type Jitter int

const (
	// Equal jitter waits a random time in [d/2, d]: half the delay is
	// fixed, so retries never collapse to zero, and the random half keeps a
	// fleet of clients that lost a server at the same moment from returning
	// in lock-step. Discovery loops and registrars use it.
	Equal Jitter = iota
	// Full jitter waits a random time in [0, d]: the least synchronised
	// choice (AWS's "Exponential Backoff and Jitter"), used by request
	// retries whose callers are already spread in time.
	Full
	// None waits exactly d.
	None
)

// Policy is capped exponential back-off: wait number n (from 1) is
// Min·2^(n-1), capped at Max (no cap when Max is zero or less), with
// jitter applied. The zero Policy waits nothing.
type Policy struct {
	Min, Max time.Duration
	Jitter   Jitter
	// Rand returns a uniform value in [0, n); nil uses math/rand/v2. Tests
	// replace it to make delays repeatable.
	Rand func(n int64) int64
}

// Ceiling returns the un-jittered delay before try n (n ≥ 1): Min doubled
// n-1 times, capped at Max.
func (p Policy) Ceiling(n int) time.Duration {
	if p.Min <= 0 {
		return 0
	}
	limit := p.Max
	if limit <= 0 {
		limit = math.MaxInt64 // no cap of the caller's
	}
	d := p.Min
	for i := 1; i < n && d < limit; i++ {
		if d > limit/2 {
			d = limit // doubling would pass the cap, or overflow
			break
		}
		d *= 2
	}
	return min(d, limit)
}

// Delay returns the jittered delay before try n (n ≥ 1).
func (p Policy) Delay(n int) time.Duration {
	d := p.Ceiling(n)
	if d <= 0 {
		return 0
	}
	switch p.Jitter {
	case Full:
		return time.Duration(p.rand(int64(d) + 1))
	case None:
		return d
	}
	half := d / 2
	return half + time.Duration(p.rand(int64(d-half)+1))
}

func (p Policy) rand(n int64) int64 {
	if p.Rand != nil {
		return p.Rand(n)
	}
	return rand.Int64N(n)
}

// Sleep waits d, or until ctx ends, whichever is first. It returns nil when
// the whole wait passed and ctx.Err() otherwise; a wait of zero or less
// returns ctx.Err() at once.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SleepOrWake is Sleep that also ends early when wake delivers (a
// reconnection, say, which makes trying again at once worthwhile). It
// reports whether wake ended it; err is ctx.Err() if ctx did.
func SleepOrWake(ctx context.Context, d time.Duration, wake <-chan struct{}) (woken bool, err error) {
	if d <= 0 {
		return false, ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return false, nil
	case <-wake:
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// Counter is a Policy with the number of the next try: Next returns the next
// delay and Reset starts over after a success. It is not safe for
// concurrent use; each loop keeps its own.
type Counter struct {
	Policy
	n int
}

// Next returns the delay before the next try and counts it.
func (c *Counter) Next() time.Duration {
	c.n++
	return c.Delay(c.n)
}

// Reset makes the next delay the first again.
func (c *Counter) Reset() { c.n = 0 }

// Tries returns how many delays Next has returned since the last Reset.
func (c *Counter) Tries() int { return c.n }
