package etcd

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff yields jittered, exponentially growing waits, so that many clients
// losing one cluster do not come back in step, and a dead cluster is not
// asked in a hot loop.
type backoff struct {
	min, max time.Duration
	n        uint
}

// next returns a wait in [d/2, d], where d doubles from min up to max.
func (b *backoff) next() time.Duration {
	d := b.min << min(b.n, 30)
	if d > b.max || d <= 0 {
		d = b.max
	} else {
		b.n++
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

func (b *backoff) reset() { b.n = 0 }

// sleep waits for d or until ctx ends; it reports whether the wait ran its
// full length.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
