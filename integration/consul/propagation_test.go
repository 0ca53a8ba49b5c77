package consul

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher/consul"
)

// propagationChanges is how many registrations (and as many
// deregistrations) TestPropagationDelay times.
const propagationChanges = 60

// TestPropagationDelay measures how long a change made through the
// Registrar takes to reach a balancer built on the publisher with default
// options: from the start of Register (or Deregister) to the moment the
// balancer's live set includes (or no longer includes) the instance. It
// logs p50/p99/max; README.md records the figures. Changes are spaced by
// more than DefaultQueryInterval so that what is measured is the blocking
// query path, not the rate limit that protects Consul from churn.
func TestPropagationDelay(t *testing.T) {
	a := startAgent(t)
	anchor, probe := newBackend(t, "anchor"), newBackend(t, "probe")
	registered(t, a, anchor.registration(), consul.WithTTLCheck(30*time.Second))
	_, b := balancerOver(t, a)
	eventually(t, settle, "anchor in the balancer", func() bool { return hasHosts(b, anchor.address()) })

	r, err := consul.NewRegistrarFromConfig(clientConfig(a), probe.registration(), consul.WithTTLCheck(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()

	var added, removed []time.Duration
	for range propagationChanges {
		time.Sleep(consul.DefaultQueryInterval + 50*time.Millisecond)
		added = append(added, timeChange(t, b, func(ctx context.Context) error { return r.Register(ctx) },
			anchor.address(), probe.address()))
		time.Sleep(consul.DefaultQueryInterval + 50*time.Millisecond)
		removed = append(removed, timeChange(t, b, func(ctx context.Context) error { return r.Deregister(ctx) },
			anchor.address()))
	}
	t.Logf("consul propagation over %d changes each: register -> balancer %s; deregister -> balancer %s",
		propagationChanges, percentiles(added), percentiles(removed))
}

// timeChange runs change and returns the time until the balancer's live set
// is want.
func timeChange(t *testing.T, b *loadbalancer.Balancer, change func(context.Context) error, want ...string) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), settle)
	defer cancel()
	start := time.Now()
	if err := change(ctx); err != nil {
		t.Fatal(err)
	}
	for !hasHosts(b, want...) {
		if ctx.Err() != nil {
			t.Fatalf("balancer did not reach %v within %v", want, settle)
		}
		time.Sleep(100 * time.Microsecond)
	}
	return time.Since(start)
}

func percentiles(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[int(math.Ceil(q*float64(len(s))))-1] }
	return "p50 " + at(0.50).Round(10*time.Microsecond).String() +
		" p99 " + at(0.99).Round(10*time.Microsecond).String() +
		" max " + s[len(s)-1].Round(10*time.Microsecond).String()
}
