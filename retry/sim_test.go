package retry

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Deterministic discrete-event simulations of a retry storm and of hedging,
// on a simulated clock (nothing sleeps; each runs in well under a second).
// They drive the Retrier's own policy code (Budget, the back-off policy, the
// latency tracker, the hedge cap, Retrier.hedgeDelay and Retrier.won) with
// simulated time, so the numbers describe this package, not a model of it. The
// real-server tests in http_test.go check the same properties end to end.
//
//	go test -run Sim -v ./retry

// simClock is a discrete-event scheduler: events run in time order (ties in
// the order scheduled), each may schedule more.
type simClock struct {
	now    int64
	seq    int
	events simEvents
}

type simEvent struct {
	at  int64
	seq int
	fn  func()
}

type simEvents []simEvent

func (h simEvents) Len() int { return len(h) }
func (h simEvents) Less(i, j int) bool {
	return h[i].at < h[j].at || (h[i].at == h[j].at && h[i].seq < h[j].seq)
}
func (h simEvents) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *simEvents) Push(x any)   { *h = append(*h, x.(simEvent)) }
func (h *simEvents) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func (c *simClock) after(d time.Duration, fn func()) {
	c.seq++
	heap.Push(&c.events, simEvent{at: c.now + int64(d), seq: c.seq, fn: fn})
}

func (c *simClock) run() {
	for c.events.Len() > 0 {
		e := heap.Pop(&c.events).(simEvent)
		c.now = e.at
		e.fn()
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// simBackend serves up to slots requests at once, each for an exponential
// time of mean service, queues up to queue more, and turns away the rest
// at once (503). Like most servers it finishes what it started even when
// the client has given up. A down backend refuses every connection.
type simBackend struct {
	down           bool
	slots, queue   int
	service        time.Duration
	busy           int
	waiting        []func()
	arrived, shed  int
	served, wasted int
}

// TestSimRetryStorm is a retry storm in simulated time: 3 backends of 5
// slots (20ms mean service, so 250/s each) with queues of 50, one down;
// Poisson arrivals at 600/s, 80% of the three backends' capacity, for 60
// simulated seconds. Calls make up to 3 attempts of at most 100ms each,
// with the default back-off, on hosts not yet tried, within 1s.
//
// The two healthy backends can serve 500/s. Without a budget every failed
// attempt comes back, their queues fill, attempts time out in them while
// the backends keep serving requests nobody waits for, and that makes more
// retries: the load grows by the retry factor and goodput collapses. The
// default budget keeps the attempts within 1.2× the requests, which keeps
// the healthy backends just under their capacity.
func TestSimRetryStorm(t *testing.T) {
	type outcome struct {
		requests, attempts, ok, refused int
		healthyArrivals, wasted         int
		p99                             time.Duration
	}
	simulate := func(withBudget bool) outcome {
		const (
			rate           = 600.0
			duration       = 60 * time.Second
			maxAttempts    = 3
			callTimeout    = time.Second
			attemptTimeout = 100 * time.Millisecond
			connRefused    = time.Millisecond
		)
		rng := rand.New(rand.NewPCG(1, 2))
		waits := defaultConfig().backoff // the Retrier's own back-off, on the simulation's randomness
		waits.Rand = rng.Int64N
		clk := &simClock{}
		backends := []*simBackend{
			{down: true},
			{slots: 5, queue: 50, service: 20 * time.Millisecond},
			{slots: 5, queue: 50, service: 20 * time.Millisecond},
		}
		var budget *Budget
		if withBudget {
			budget, _ = NewBudget(DefaultBudgetRatio, DefaultBudgetMinPerSecond, DefaultBudgetWindow)
		}
		var o outcome
		var latencies []time.Duration
		var rr int
		exp := func(mean time.Duration) time.Duration {
			return time.Duration(rng.ExpFloat64() * float64(mean))
		}
		// serve runs one attempt on b and calls done with its outcome.
		var serve func(b *simBackend, done func(ok bool))
		serve = func(b *simBackend, done func(ok bool)) {
			b.arrived++
			if b.down {
				clk.after(connRefused, func() { done(false) })
				return
			}
			start := func() {
				b.busy++
				clk.after(exp(b.service), func() {
					b.busy--
					b.served++
					done(true) // ignored if the client has gone
					if len(b.waiting) > 0 {
						next := b.waiting[0]
						b.waiting = b.waiting[1:]
						next()
					}
				})
			}
			switch {
			case b.busy < b.slots:
				start()
			case len(b.waiting) < b.queue:
				b.waiting = append(b.waiting, start)
			default:
				b.shed++
				clk.after(0, func() { done(false) })
			}
		}
		// call is one request through the Retrier's policy.
		call := func() {
			o.requests++
			begin := clk.now
			deadline := begin + int64(callTimeout)
			if budget != nil {
				budget.deposit(begin)
			}
			var tried []int
			finished := false
			var attempt func(n int)
			attempt = func(n int) {
				// Round robin, skipping hosts this call has tried, as
				// lbkit's balancer does for an EndpointAvoider.
				h := rr % len(backends)
				rr++
				for k := range backends {
					if j := (h + k) % len(backends); !slices.Contains(tried, j) {
						h = j
						break
					}
				}
				tried = append(tried, h)
				o.attempts++
				over := false // this attempt has reported
				outcome := func(ok bool) {
					if finished || over {
						if ok {
							o.wasted++
						}
						return
					}
					over = true
					switch {
					case clk.now >= deadline:
						finished = true
					case ok:
						finished = true
						o.ok++
						latencies = append(latencies, time.Duration(clk.now-begin))
					case n >= maxAttempts:
						finished = true
					case budget != nil && !budget.withdraw(clk.now):
						finished = true
						o.refused++
					default:
						wait := waits.Delay(n)
						if clk.now+int64(wait) >= deadline {
							finished = true
							return
						}
						clk.after(wait, func() { attempt(n + 1) })
					}
				}
				serve(backends[h], outcome)
				clk.after(attemptTimeout, func() { outcome(false) })
			}
			attempt(1)
		}
		var arrive func()
		arrive = func() {
			if clk.now >= int64(duration) {
				return
			}
			call()
			clk.after(exp(time.Second/rate), arrive)
		}
		clk.after(0, arrive)
		clk.run()
		o.healthyArrivals = backends[1].arrived + backends[2].arrived
		o.p99 = percentile(latencies, 0.99)
		return o
	}
	report := func(name string, o outcome) float64 {
		f := float64(o.attempts) / float64(o.requests)
		t.Logf("%-15s requests %6d  attempts %6d (%.2f per request)  healthy backends got %.2f per request, "+
			"served %d nobody waited for  ok %.1f%%  refused by budget %d  p99 %v",
			name, o.requests, o.attempts, f, float64(o.healthyArrivals)/float64(o.requests), o.wasted,
			100*float64(o.ok)/float64(o.requests), o.refused, o.p99.Round(time.Millisecond))
		return f
	}
	without := report("without budget", simulate(false))
	with := report("default budget", simulate(true))
	if with > 1.2 {
		t.Errorf("with the default budget attempts are %.2f× the requests, want at most 1.2×", with)
	}
	if without < 1.5 {
		t.Errorf("without a budget attempts are only %.2f× the requests", without)
	}
}

// TestSimHedging: attempt latencies with a heavy tail (97% log-normal
// around 10ms, 3% stragglers from a Pareto tail starting at 100ms, as from
// GC pauses or a cold cache), independent per attempt; 30 000 requests at
// 500/s. Hedging at the tracked 95th percentile, with the default hedge cap
// of 10%, must cut p99 at least in half with at most 10% extra attempts.
func TestSimHedging(t *testing.T) {
	const (
		rate     = 500.0
		requests = 30000
	)
	latency := func(rng *rand.Rand) time.Duration {
		if rng.Float64() < 0.03 {
			// Pareto, alpha 1.5, from 100ms.
			return time.Duration(float64(100*time.Millisecond) / math.Pow(1-rng.Float64(), 1/1.5))
		}
		return time.Duration(float64(10*time.Millisecond) * math.Exp(0.4*rng.NormFloat64()))
	}
	simulate := func(hedge bool) (p50, p99 time.Duration, extra float64, delay time.Duration) {
		rng := rand.New(rand.NewPCG(3, 4))
		clk := &simClock{}
		r := &Retrier{}
		if hedge {
			r.hedgeCap, _ = NewBudget(DefaultHedgeCap, 0, DefaultBudgetWindow)
			r.tracker = newLatencyTracker(0.95, 50*time.Millisecond, LatencyWindow, 0)
		}
		var latencies []time.Duration
		hedges := 0
		for i := range requests {
			begin := int64(float64(i) * float64(time.Second) / rate)
			clk.seq++
			heap.Push(&clk.events, simEvent{at: begin, seq: clk.seq, fn: func() {
				done := false
				first := Attempt{N: 1}
				l1 := latency(rng)
				finish := func(a *Attempt) {
					if done {
						return
					}
					done = true
					latencies = append(latencies, time.Duration(clk.now-begin))
					if r.tracker != nil {
						r.won(a, clk.now, begin, a.N != 1)
					}
				}
				clk.after(l1, func() { first.Duration = l1; finish(&first) })
				if r.hedgeCap == nil {
					return
				}
				r.hedgeCap.deposit(begin)
				d := r.hedgeDelay()
				clk.after(d, func() {
					if done || !r.hedgeCap.withdraw(clk.now) {
						return
					}
					hedges++
					second := Attempt{N: 2, Hedge: true}
					l2 := latency(rng)
					clk.after(l2, func() { second.Duration = l2; finish(&second) })
				})
			}})
		}
		clk.run()
		return percentile(latencies, 0.5), percentile(latencies, 0.99), float64(hedges) / requests, r.hedgeDelay()
	}
	p50, p99, _, _ := simulate(false)
	hp50, hp99, extra, delay := simulate(true)
	t.Logf("no hedging      p50 %v  p99 %v", p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond))
	t.Logf("hedging at p95  p50 %v  p99 %v  extra attempts %.1f%%  learnt delay %v  p99 %.1f× lower",
		hp50.Round(100*time.Microsecond), hp99.Round(100*time.Microsecond), 100*extra,
		delay.Round(100*time.Microsecond), float64(p99)/float64(hp99))
	if float64(p99) < 2*float64(hp99) {
		t.Errorf("hedging cut p99 from %v to %v only, want at least 2×", p99, hp99)
	}
	if extra > 0.10 {
		t.Errorf("hedging added %.1f%% attempts, want at most 10%%", 100*extra)
	}
}
