package limit_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/seed41aebe0c/lbkit/limit"
)

// BenchmarkAcquireRelease takes and gives back a lease per operation from
// parallel goroutines, spread over 16 keys (as a bulkhead over 16 hosts
// would) or all on one key (the contended case).
func BenchmarkAcquireRelease(b *testing.B) {
	for _, keys := range []int{1, 16} {
		b.Run("keys="+strconv.Itoa(keys), func(b *testing.B) {
			lim, err := limit.New[int](limit.WithDefaultTarget(1 << 20))
			if err != nil {
				b.Fatal(err)
			}
			defer lim.Close()
			var next atomic.Int64
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				k := int(next.Add(1)) % keys
				for pb.Next() {
					l, err := lim.Acquire(ctx, k)
					if err != nil {
						b.Error(err)
						return
					}
					l.Release()
				}
			})
		})
	}
}
