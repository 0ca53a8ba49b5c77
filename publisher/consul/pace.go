package consul

import (
	"context"
	"time"

	"github.com/seed41aebe0c/lbkit/internal/backoff"
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

func (realClock) Sleep(ctx context.Context, d time.Duration) error { return backoff.Sleep(ctx, d) }

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
