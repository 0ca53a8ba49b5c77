package endpointcache_test

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/endpointcache"
	"github.com/seed41aebe0c/lbkit/publisher"
)

// The update benchmarks apply, alternately, two sets of 1000 instances that
// differ in one instance, so every update removes one endpoint and creates
// one. They report factory calls per update, which must be exactly 1.
//
//	go test -run '^$' -bench Update -benchmem -count 10 ./endpointcache/ > update.txt
//	benchstat -col /impl update.txt

func countingFactory(calls *atomic.Int64) endpointcache.Factory {
	ep := endpoint.Endpoint(func(context.Context, any) (any, error) { return nil, nil })
	return func(string) (endpoint.Endpoint, io.Closer, error) {
		calls.Add(1)
		return ep, nil, nil
	}
}

func twoSets(n int) (a, b []string) {
	a = make([]string, n)
	for i := range a {
		a[i] = fmt.Sprintf("10.0.%d.%d:8080", i/250, i%250)
	}
	b = append([]string(nil), a...)
	b[n/2] = "10.9.9.9:8080"
	return a, b
}

func BenchmarkUpdate1000OneChanged(b *testing.B) {
	as, bs := twoSets(1000)
	sets := [2]publisher.Event{
		{Instances: publisher.FromAddresses(as...)},
		{Instances: publisher.FromAddresses(bs...)},
	}
	b.Run("impl=gokit", func(b *testing.B) {
		var calls atomic.Int64
		inst := &chanInstancer{}
		f := countingFactory(&calls)
		e := sd.NewEndpointer(inst, sd.Factory(f), log.NewNopLogger())
		defer e.Close()
		kit := [2]sd.Event{{Instances: as}, {Instances: bs}}
		inst.ch <- kit[0]
		inst.ch <- kit[0] // returns once the first update is done
		calls.Store(0)
		b.ReportAllocs()
		b.ResetTimer()
		// go-kit's endpointer applies events on its own goroutine from an
		// unbuffered channel, so each send returns only when the previous
		// update has finished: the loop measures update cost plus one
		// channel hand-off.
		for i := range b.N {
			inst.ch <- kit[(i+1)%2]
		}
		inst.ch <- kit[(b.N+1)%2]
		b.StopTimer()
		b.ReportMetric(float64(calls.Load())/float64(b.N+1), "factory-calls/op")
	})
	b.Run("impl=lbkit", func(b *testing.B) {
		var calls atomic.Int64
		c, _ := endpointcache.New(countingFactory(&calls))
		defer c.Close()
		c.Update(sets[0])
		calls.Store(0)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			c.Update(sets[(i+1)%2])
		}
		b.StopTimer()
		b.ReportMetric(float64(calls.Load())/float64(b.N), "factory-calls/op")
	})
}

// chanInstancer hands the test the channel go-kit's endpointer registers.
type chanInstancer struct{ ch chan<- sd.Event }

func (c *chanInstancer) Register(ch chan<- sd.Event) { c.ch = ch }
func (c *chanInstancer) Deregister(chan<- sd.Event)  {}
func (c *chanInstancer) Stop()                       {}
