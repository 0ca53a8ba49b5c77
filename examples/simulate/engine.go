package main

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// Retry model. The clients call through go-kit's Retry(3, 1s, balancer):
// an attempt that fails is retried at once with a fresh pick (which may land
// on the same backend), up to three attempts, all within one second.
const (
	maxAttempts  = 3
	retryTimeout = time.Second
)

var (
	errBackend  = errors.New("backend error")
	errDeadline = errors.New("deadline exceeded")
	errGone     = errors.New("connection reset: backend left")
)

// request is one client call through the retrying endpoint. Each client
// has one at a time; gen tells its successive requests apart.
type request struct {
	gen      uint32
	start    int64
	attempts int
	cur      int32 // the attempt under way, or -1
	done     bool
}

// attempt is one call to one backend. Attempts live in a pool and are
// referred to by index, so that events carry no pointers (the event heap
// is the simulator's hot spot).
type attempt struct {
	client  int32
	reqGen  uint32
	backend int32
	gen     int // the backend's generation when the attempt reached it
	begun   strategy.Start
	failed  bool
	fast    bool // a fast failure: never took a slot
	live    bool // the client still waits for it
}

type evKind uint8

const (
	evDone     evKind = iota // an attempt's answer reaches the client
	evScenario               // a scripted change
	evClient                 // a client sends its next request
)

type event struct {
	at   int64
	seq  uint64 // ties in time are served in scheduling order: determinism
	kind evKind
	id   int32 // attempt, scenario event or client
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// deadline is a pending request timeout. Every request gets the same
// timeout, so deadlines come due in the order they were set: a queue does,
// where a heap of a timeout per request would dominate the run time.
type deadline struct {
	at     int64
	client int32
	gen    uint32
}

// sim is one run: one scenario, one contestant, one seed. It is
// single-threaded: the strategies' pickers and statistics are the real
// ones, driven by the simulated clock.
type sim struct {
	sc        *scenario
	now       int64
	end       int64
	seq       uint64
	events    eventHeap
	deadlines []deadline // in order of time; head at dhead
	dhead     int
	rng       *rand.Rand // the world: latencies and failures
	backends  []*backend
	active    []int                    // backend ids in the balancer's set, in order
	sets      []*strategy.HostSet[int] // the balancers' hosts (one, or one per client); Value is a backend id
	hosts     [][]*strategy.Host       // per balancer, per backend id, while it is in the set
	reqs      []request                // per client
	atts      []attempt
	free      []int32 // unused entries of atts
	chooser   chooser
	m         *metrics
}

// balancer is the index of client's balancer in sets and hosts.
func (s *sim) balancer(client int32) int {
	if len(s.sets) == 1 {
		return 0
	}
	return int(client)
}

// clock is the hosts' clock: the simulated time.
func (s *sim) clock() time.Duration { return time.Duration(s.now) }

func newSim(sc *scenario, c contestant, seed uint64, scale float64) (*sim, error) {
	s := &sim{
		sc:   sc,
		end:  int64(float64(sc.duration) * scale),
		rng:  rand.New(rand.NewPCG(seed, 0x5eed)),
		reqs: make([]request, sc.clients),
	}
	scorer := strategy.ErrorScorer
	if c.latencyTarget > 0 {
		var err error
		if scorer, err = strategy.LatencyScorer(c.latencyTarget); err != nil {
			return nil, err
		}
	}
	// The references choose by themselves, and the set only makes and
	// keeps the hosts' statistics for them; it never picks.
	var st strategy.Strategy = strategy.RoundRobin{}
	s.chooser = setChooser{}
	if c.strategy != nil {
		st = c.strategy(seed)
	} else {
		ch, err := c.build(s, seed)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		s.chooser = ch
	}
	balancers := 1
	if sc.perClient {
		balancers = sc.clients
	}
	for k := range balancers {
		// The balancers share st, and so its source of random numbers:
		// the simulation runs on one goroutine.
		set, err := strategy.NewHostSet[int](st, append([]strategy.Option{strategy.WithClock(s.clock), strategy.WithScorer(scorer),
			strategy.WithGroupSource(rand.NewPCG(seed, 0x71e5+uint64(k)))}, sc.hostOpts...)...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		s.sets = append(s.sets, set)
		s.hosts = append(s.hosts, make([]*strategy.Host, len(sc.backends)))
	}
	s.m = newMetrics(s.end, len(sc.backends))
	for i, spec := range sc.backends {
		b := &backend{id: i, addr: fmt.Sprintf("b%d", i), backendSpec: spec}
		s.backends = append(s.backends, b)
		if !spec.absent {
			s.join(i)
		}
	}
	s.chooser.rebuild(s)
	for i, ev := range sc.events {
		s.schedule(int64(float64(ev.at)*scale), evScenario, int32(i))
	}
	for c := range sc.clients {
		s.schedule(0, evClient, int32(c))
	}
	return s, nil
}

func (s *sim) schedule(at int64, kind evKind, id int32) {
	s.seq++
	heap.Push(&s.events, event{at: at, seq: s.seq, kind: kind, id: id})
}

func (s *sim) run() *metrics {
	for {
		// A deadline due before the next event is served first.
		if s.dhead < len(s.deadlines) {
			if d := s.deadlines[s.dhead]; len(s.events) == 0 || d.at <= s.events[0].at {
				if d.at >= s.end {
					break
				}
				s.dhead++
				s.now = d.at
				s.timeout(d)
				continue
			}
		}
		if len(s.events) == 0 {
			break
		}
		e := heap.Pop(&s.events).(event)
		if e.at >= s.end {
			break
		}
		s.now = e.at
		switch e.kind {
		case evDone:
			s.done(e.id)
		case evScenario:
			s.sc.events[e.id].apply(s)
			s.m.mark(s.now)
		case evClient:
			s.startRequest(e.id)
		}
		if s.dhead > 4096 && s.dhead > len(s.deadlines)/2 {
			s.deadlines = append(s.deadlines[:0], s.deadlines[s.dhead:]...)
			s.dhead = 0
		}
	}
	s.m.members = len(s.active)
	return s.m
}

func (s *sim) startRequest(client int32) {
	r := &s.reqs[client]
	*r = request{gen: r.gen + 1, start: s.now, cur: -1}
	s.deadlines = append(s.deadlines, deadline{at: s.now + int64(retryTimeout), client: client, gen: r.gen})
	s.startAttempt(client)
}

func (s *sim) newAttempt() int32 {
	if n := len(s.free); n > 0 {
		id := s.free[n-1]
		s.free = s.free[:n-1]
		return id
	}
	s.atts = append(s.atts, attempt{})
	return int32(len(s.atts) - 1)
}

func (s *sim) startAttempt(client int32) {
	r := &s.reqs[client]
	id := s.chooser.pick(s, client)
	if id < 0 {
		s.finish(client, false) // no backend: go-kit's ErrNoEndpoints
		return
	}
	b := s.backends[id]
	ai := s.newAttempt()
	a := &s.atts[ai]
	*a = attempt{client: client, reqGen: r.gen, backend: int32(id), gen: b.gen, live: true}
	a.begun = s.hosts[s.balancer(client)][id].Begin()
	r.attempts++
	r.cur = ai
	s.m.attempt(s.now, id)
	a.failed = s.rng.Float64() < b.fail
	switch {
	case a.failed && b.failFast > 0:
		a.fast = true
		s.schedule(s.now+int64(b.failFast), evDone, ai)
	case len(b.serving) < b.capacity:
		s.serve(b, ai)
	default:
		b.queue = append(b.queue, ai)
	}
}

func (s *sim) serve(b *backend, ai int32) {
	b.serving = append(b.serving, ai)
	s.schedule(s.now+int64(b.lat.sample(s.rng))+1, evDone, ai)
}

// done is an attempt's answer arriving: its slot frees up, and the client
// (if still waiting) records the outcome and retries or moves on.
func (s *sim) done(ai int32) {
	a := &s.atts[ai]
	b := s.backends[a.backend]
	if !a.fast && a.gen == b.gen {
		for i, x := range b.serving {
			if x == ai {
				b.serving[i] = b.serving[len(b.serving)-1]
				b.serving = b.serving[:len(b.serving)-1]
				break
			}
		}
		if len(b.queue) > 0 {
			next := b.queue[0]
			b.queue = b.queue[1:]
			s.serve(b, next)
		}
	}
	if a.live {
		var err error
		if a.failed {
			err = errBackend
		}
		s.answer(ai, err)
	}
	s.free = append(s.free, ai)
}

// record puts an attempt's outcome into its host's statistics exactly as
// the balancer does: Host.Record, whose scorer rates the error and latency.
// The simulated clients never cancel a call themselves (Retry's deadline
// is a failure of the host: see timeout), so every outcome counts.
func (s *sim) record(a *attempt, err error) {
	a.live = false
	if h := s.hosts[s.balancer(a.client)][a.backend]; h != nil && a.gen == s.backends[a.backend].gen {
		h.Record(context.Background(), a.begun, err)
	}
}

// answer records an attempt's outcome, then lets the request retry or
// finish.
func (s *sim) answer(ai int32, err error) {
	a := &s.atts[ai]
	s.record(a, err)
	client := a.client
	r := &s.reqs[client]
	switch {
	case err == nil:
		s.finish(client, true)
	case r.attempts < maxAttempts:
		s.startAttempt(client)
	default:
		s.finish(client, false)
	}
}

// timeout is go-kit Retry's deadline: the attempt under way is cancelled
// with context.DeadlineExceeded, which lbkit's recorder holds against the
// host (only the caller's own cancellation is not), and the request fails.
func (s *sim) timeout(d deadline) {
	r := &s.reqs[d.client]
	if r.gen != d.gen || r.done {
		return
	}
	if r.cur >= 0 {
		if a := &s.atts[r.cur]; a.live {
			s.record(a, errDeadline)
		}
	}
	s.finish(d.client, false)
}

func (s *sim) finish(client int32, ok bool) {
	r := &s.reqs[client]
	r.done = true
	s.m.request(s.now, r, ok)
	if s.now == r.start {
		// Nothing to call: back off a little rather than spin.
		s.schedule(s.now+int64(time.Millisecond), evClient, client)
		return
	}
	s.startRequest(client)
}

// join adds backend id to the balancer's set with fresh statistics, as the
// endpoint cache does for a new instance.
func (s *sim) join(id int) {
	b := s.backends[id]
	if b.up {
		return
	}
	b.up = true
	for k, set := range s.sets {
		s.hosts[k][id] = set.NewHost(b.addr, 1)
	}
	s.active = append(s.active, id)
}

// leave removes backend id: calls in service or waiting there fail at once
// (their connections are reset), and the balancer forgets its statistics.
func (s *sim) leave(id int) {
	b := s.backends[id]
	if !b.up {
		return
	}
	b.up = false
	for i, x := range s.active {
		if x == id {
			s.active = append(s.active[:i], s.active[i+1:]...)
			break
		}
	}
	s.chooser.rebuild(s)
	serving, queued := b.serving, b.queue
	b.serving, b.queue = nil, nil
	for _, ai := range serving {
		if s.atts[ai].live {
			s.answer(ai, errGone)
		}
		// its completion event is still due, and frees it
	}
	for _, ai := range queued {
		if s.atts[ai].live {
			s.answer(ai, errGone)
		}
		s.free = append(s.free, ai) // no event refers to it
	}
	b.gen++
	for k := range s.hosts {
		s.hosts[k][id] = nil
	}
}
