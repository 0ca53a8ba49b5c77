package consul

import (
	"context"
	"math/rand/v2"
	"time"
)

// clock is time as the query loop sees it. Tests replace it to run hours of
// back-off in microseconds and to count what the loop would have slept.
type clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, whichever is first, and
	// returns ctx.Err() in the second case.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
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

// backoff is capped exponential back-off with "equal jitter": retry n waits a
// random time in [d/2, d) where d = min·2^(n-1) capped at max. Half the
// delay is fixed so retries cannot collapse to zero; the random half keeps a
// fleet of clients that lost Consul at the same moment from returning in
// lock-step.
type backoff struct {
	min, max time.Duration
	rand     func() float64 // in [0, 1)
}

func (b backoff) delay(n int) time.Duration {
	d := b.min
	for i := 1; i < n && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	half := d / 2
	return half + time.Duration(b.rand()*float64(d-half))
}

func defaultRand() float64 { return rand.Float64() }

// bucket is a token bucket that paces the query loop, as Consul's guide to
// blocking queries asks: queries proceed at once while results change
// rarely, and degrade to one per every when they churn (a flapping check, a
// server returning at once). every <= 0 disables it.
type bucket struct {
	every  time.Duration
	burst  int
	tokens float64
	last   time.Time
}

func newBucket(every time.Duration, burst int) *bucket {
	return &bucket{every: every, burst: burst, tokens: float64(burst)}
}

// reserve takes one token and returns how long the caller must wait before
// using it (zero when a token was available).
func (b *bucket) reserve(now time.Time) time.Duration {
	if b.every <= 0 {
		return 0
	}
	if !b.last.IsZero() {
		b.tokens += float64(now.Sub(b.last)) / float64(b.every)
		b.tokens = min(b.tokens, float64(b.burst))
	}
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens * float64(b.every))
}
