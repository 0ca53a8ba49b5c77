package subset_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/subset"
)

func staticOf(t *testing.T, addresses ...string) *static.Publisher {
	t.Helper()
	p, err := static.NewAddresses(addresses...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

func newSubset(t *testing.T, backends publisher.Publisher, size int, at subset.Coordinate) *subset.Publisher {
	t.Helper()
	p, err := subset.New(backends, size, at)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// next returns the next event on s, failing after a few seconds.
func next(t *testing.T, s *publisher.Subscription) publisher.Event {
	t.Helper()
	select {
	case ev, ok := <-s.C():
		if !ok {
			t.Fatal("subscription closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return publisher.Event{}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

func mustAssign(t *testing.T, backends []string, rank, count, size int) []string {
	t.Helper()
	s, err := subset.Assign(backends, rank, count, size)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFixedPublishesTheSubsetAtOnceAndFollowsTheBackends(t *testing.T) {
	all := addrs(20)
	back := staticOf(t, all...)
	p := newSubset(t, back, 4, subset.Fixed(2, 5))
	s := p.Subscribe()
	defer s.Cancel()
	// Usable at once, like the static publisher under it.
	select {
	case ev := <-s.C():
		if want := sorted(mustAssign(t, all, 2, 5, 4)); !slices.Equal(publisher.Addresses(ev.Instances), want) {
			t.Fatalf("first event %v, want %v", publisher.Addresses(ev.Instances), want)
		}
	default:
		t.Fatal("no subset right after New over a static publisher")
	}
	st := p.Stats()
	if !st.Ready || st.Rank != 2 || st.Count != 5 || st.Size != 4 || st.Backends != 20 ||
		!slices.Equal(st.Subset, mustAssign(t, all, 2, 5, 4)) {
		t.Fatalf("Stats = %+v", st)
	}

	fewer := all[:10]
	if err := back.Replace(publisher.FromAddresses(fewer...)...); err != nil {
		t.Fatal(err)
	}
	ev := next(t, s)
	if want := sorted(mustAssign(t, fewer, 2, 5, 4)); !slices.Equal(publisher.Addresses(ev.Instances), want) {
		t.Fatalf("after Replace %v, want %v", publisher.Addresses(ev.Instances), want)
	}
	if st := p.Stats(); st.Backends != 10 {
		t.Fatalf("Stats.Backends = %d after Replace, want 10", st.Backends)
	}
}

func TestInstancesKeepTheirFields(t *testing.T) {
	in := []publisher.Instance{
		{Address: "a:1", Weight: 3, Priority: 1, Metadata: map[string]string{"zone": "z1"}},
		{Address: "b:1", Weight: 5},
	}
	back, err := static.New(in...)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Stop()
	p := newSubset(t, back, 5, subset.Fixed(0, 1))
	s := p.Subscribe()
	defer s.Cancel()
	ev := next(t, s)
	if !slices.EqualFunc(ev.Instances, in, publisher.Instance.Equal) {
		t.Fatalf("instances %+v, want %+v", ev.Instances, in)
	}
}

func TestDiscoveryErrorPassesThroughWithTheLastSubset(t *testing.T) {
	all := addrs(12)
	back := staticOf(t, all...)
	p := newSubset(t, back, 3, subset.Fixed(1, 4))
	s := p.Subscribe()
	defer s.Cancel()
	first := next(t, s)
	boom := errors.New("registry down")
	if err := back.Fail(boom); err != nil {
		t.Fatal(err)
	}
	ev := next(t, s)
	if !errors.Is(ev.Err, boom) {
		t.Fatalf("event error %v, want %v", ev.Err, boom)
	}
	if !slices.EqualFunc(ev.Instances, first.Instances, publisher.Instance.Equal) {
		t.Fatalf("instances during the failure %v, want the last subset %v",
			publisher.Addresses(ev.Instances), publisher.Addresses(first.Instances))
	}
}

func TestPeersGiveTheRankAndFollowJoinsAndLeaves(t *testing.T) {
	all := addrs(30)
	back := staticOf(t, all...)
	peers := staticOf(t, "client-a", "client-c", "client-d")
	p := newSubset(t, back, 5, subset.Peers(peers, "client-c"))
	s := p.Subscribe()
	defer s.Cancel()
	check := func(ev publisher.Event, rank, count int) {
		t.Helper()
		want := mustAssign(t, all, rank, count, 5)
		if got := publisher.Addresses(ev.Instances); !slices.Equal(got, sorted(want)) {
			t.Fatalf("subset %v, want rank %d of %d: %v", got, rank, count, sorted(want))
		}
		if st := p.Stats(); st.Rank != rank || st.Count != count || !slices.Equal(st.Subset, want) {
			t.Fatalf("Stats = %+v, want rank %d of %d", st, rank, count)
		}
	}
	check(next(t, s), 1, 3)

	// A peer joins before us: our rank moves up.
	if err := peers.Replace(publisher.FromAddresses("client-a", "client-b", "client-c", "client-d")...); err != nil {
		t.Fatal(err)
	}
	check(next(t, s), 2, 4)

	// Peers leave, and our own registration lapses: we count ourselves in.
	if err := peers.Replace(publisher.FromAddresses("client-d")...); err != nil {
		t.Fatal(err)
	}
	check(next(t, s), 0, 2)
}

func TestPeersStoppingKeepsTheLastCoordinate(t *testing.T) {
	all := addrs(30)
	back := staticOf(t, all...)
	peers, err := static.NewAddresses("x", "y", "z")
	if err != nil {
		t.Fatal(err)
	}
	p := newSubset(t, back, 5, subset.Peers(peers, "z"))
	s := p.Subscribe()
	defer s.Cancel()
	next(t, s)
	peers.Stop()
	if err := back.Replace(publisher.FromAddresses(all[:15]...)...); err != nil {
		t.Fatal(err)
	}
	ev := next(t, s)
	if want := sorted(mustAssign(t, all[:15], 2, 3, 5)); !slices.Equal(publisher.Addresses(ev.Instances), want) {
		t.Fatalf("subset %v, want %v", publisher.Addresses(ev.Instances), want)
	}
}

func TestNothingIsPublishedUntilThePeersAreKnown(t *testing.T) {
	back := staticOf(t, addrs(10)...)
	empty, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Stop()
	// An empty peer set is a state: we count ourselves in, rank 0 of 1.
	p := newSubset(t, back, 3, subset.Peers(empty, "me"))
	if st := p.Stats(); !st.Ready || st.Rank != 0 || st.Count != 1 || len(st.Subset) != 3 {
		t.Fatalf("Stats = %+v, want rank 0 of 1 with 3 backends", st)
	}

	// A peers source that has published nothing yet holds the subset back.
	silent := &silentPublisher{}
	q := newSubset(t, back, 3, subset.Peers(silent, "me"))
	s := q.Subscribe()
	defer s.Cancel()
	select {
	case ev := <-s.C():
		t.Fatalf("published %v before the peers were known", publisher.Addresses(ev.Instances))
	case <-time.After(50 * time.Millisecond):
	}
	if st := q.Stats(); st.Ready || st.Rank != -1 || st.Count != 0 || st.Subset != nil {
		t.Fatalf("Stats = %+v before the peers were known", st)
	}
	silent.fan.Publish(publisher.Event{Instances: publisher.FromAddresses("me", "you")})
	if got := publisher.Addresses(next(t, s).Instances); len(got) != 3 {
		t.Fatalf("subset %v after the peers came, want 3 backends", got)
	}
}

// silentPublisher publishes only what the test tells its Fanout to.
type silentPublisher struct{ fan publisher.Fanout }

func (p *silentPublisher) Subscribe() *publisher.Subscription { return p.fan.Subscribe() }
func (p *silentPublisher) Stop()                              { p.fan.Close() }

func TestStopIsIdempotentAndClosesSubscriptionsButNotTheSources(t *testing.T) {
	back := staticOf(t, addrs(10)...)
	p, err := subset.New(back, 3, subset.Fixed(0, 2))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Subscribe()
	next(t, s)
	p.Stop()
	p.Stop()
	if _, ok := <-s.C(); ok {
		t.Fatal("subscription open after Stop")
	}
	if _, ok := <-p.Subscribe().C(); ok {
		t.Fatal("Subscribe after Stop gave an open subscription")
	}
	if err := back.Replace(publisher.FromAddresses("a:1")...); err != nil {
		t.Fatalf("the backend publisher was stopped with the subset: %v", err)
	}
}

func TestBackendsStoppingClosesTheSubscriptions(t *testing.T) {
	back, err := static.NewAddresses(addrs(10)...)
	if err != nil {
		t.Fatal(err)
	}
	p := newSubset(t, back, 3, subset.Fixed(0, 2))
	s := p.Subscribe()
	next(t, s)
	back.Stop()
	select {
	case _, ok := <-s.C():
		if ok {
			t.Fatal("an event instead of the close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("subscription still open 5s after the backend publisher stopped")
	}
}

func TestNewRejectsInvalidArguments(t *testing.T) {
	back := staticOf(t, addrs(3)...)
	peers := staticOf(t, "me")
	var typedNil *static.Publisher
	for _, c := range []struct {
		name     string
		backends publisher.Publisher
		size     int
		at       subset.Coordinate
	}{
		{"nil backends", nil, 2, subset.Fixed(0, 1)},
		{"typed nil backends", typedNil, 2, subset.Fixed(0, 1)},
		{"size 0", back, 0, subset.Fixed(0, 1)},
		{"size 0 with peers", back, 0, subset.Peers(peers, "me")},
		{"zero coordinate", back, 2, subset.Coordinate{}},
		{"rank = count", back, 2, subset.Fixed(1, 1)},
		{"negative rank", back, 2, subset.Fixed(-1, 3)},
		{"count 0", back, 2, subset.Fixed(0, 0)},
		{"nil peers", back, 2, subset.Peers(nil, "me")},
		{"typed nil peers", back, 2, subset.Peers(typedNil, "me")},
		{"empty self", back, 2, subset.Peers(peers, "")},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := subset.New(c.backends, c.size, c.at)
			if !errors.Is(err, subset.ErrInvalidArgument) || !errors.Is(err, publisher.ErrInvalidArgument) {
				if p != nil {
					p.Stop()
				}
				t.Fatalf("New = %v; want an error wrapping ErrInvalidArgument", err)
			}
		})
	}
}
