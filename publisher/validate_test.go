package publisher_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/go-kit/kit/metrics"
	"github.com/go-kit/kit/sd"

	"github.com/seed41aebe0c/lbkit/publisher"
)

// badSet holds one instance of every kind the validator drops, between two
// good ones.
var badSet = []publisher.Instance{
	{Address: "b:1", Weight: 2},
	{Address: ""},
	{Address: "neg:1", Weight: -1},
	{Address: "a:1"},
	{Address: "b:1", Weight: 9}, // duplicate: the first b:1 wins
}

// TestFanoutDropsInvalidInstances: an empty address, a negative weight and
// a duplicate address are dropped from a published event; the good
// instances go through.
func TestFanoutDropsInvalidInstances(t *testing.T) {
	var f publisher.Fanout
	f.Publish(publisher.Event{Instances: badSet})
	ev, _ := f.Current()
	if got := fmt.Sprint(ev.Instances); got != "[{a:1 0 0  map[]} {b:1 2 0  map[]}]" {
		t.Fatalf("published %s, want a:1 and the first b:1 only", got)
	}
	if ev.Err != nil {
		t.Fatalf("Err = %v: invalid instances are not a discovery failure", ev.Err)
	}
	checkInvalid(t, ev.Invalid, 3, `instance with an empty address`, `neg:1: negative weight -1`, `duplicate address b:1`)
}

// checkInvalid checks that err describes n dropped instances, one reason
// per want, and wraps ErrInvalidArgument.
func checkInvalid(t *testing.T, err error, n int, want ...string) {
	t.Helper()
	var ie *publisher.InvalidError
	if !errors.As(err, &ie) || ie.Dropped != n {
		t.Fatalf("Invalid = %v, want an *InvalidError with %d dropped", err, n)
	}
	if !errors.Is(err, publisher.ErrInvalidArgument) {
		t.Errorf("Invalid = %v does not wrap ErrInvalidArgument", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Invalid = %q, want it to say %q", err, w)
		}
	}
}

// TestFanoutAllInvalidKeepsLastSet: an event made only of invalid
// instances is a failure of the source, not an empty service: the last
// known set stays and the event carries the error.
func TestFanoutAllInvalidKeepsLastSet(t *testing.T) {
	var f publisher.Fanout
	f.Publish(publisher.Event{Instances: publisher.FromAddresses("a:1")})
	f.Publish(publisher.Event{Instances: publisher.FromAddresses("", "")})
	ev, _ := f.Current()
	if fmt.Sprint(addrs(ev)) != "[a:1]" {
		t.Fatalf("instances %v, want the last known [a:1]", addrs(ev))
	}
	if !errors.Is(ev.Err, publisher.ErrInvalidArgument) {
		t.Fatalf("Err = %v, want the invalid instances described", ev.Err)
	}
	checkInvalid(t, ev.Invalid, 2)
	// An empty set is still a valid set.
	f.Publish(publisher.Event{})
	if ev, _ := f.Current(); len(ev.Instances) != 0 || ev.Err != nil || ev.Invalid != nil {
		t.Fatalf("empty event became %+v", ev)
	}
}

// TestFanoutCountsAndLogsDropped: each dropped instance is logged with its
// reason and counted, in the metrics and by Dropped.
func TestFanoutCountsAndLogsDropped(t *testing.T) {
	var f publisher.Fanout
	var logged logRecorder
	f.SetLogger(&logged)
	var c counter
	f.SetMetrics(&publisher.Metrics{Invalid: &c})
	f.Publish(publisher.Event{Instances: badSet})
	f.Publish(publisher.Event{Instances: badSet})
	if got := f.Dropped(); got != 6 {
		t.Errorf("Dropped() = %d, want 6", got)
	}
	if got := c.value(); got != 6 {
		t.Errorf("Invalid counter = %v, want 6", got)
	}
	if got := logged.count("instance dropped"); got != 6 {
		t.Errorf("%d drops logged, want 6: %v", got, logged.lines)
	}
}

// TestInvalidErrorIsBounded: a huge invalid set gives an error of bounded
// size that still counts every drop.
func TestInvalidErrorIsBounded(t *testing.T) {
	bad := make([]publisher.Instance, 100000)
	bad = append(bad, publisher.Instance{Address: "a:1"})
	var f publisher.Fanout
	f.Publish(publisher.Event{Instances: bad})
	ev, _ := f.Current()
	checkInvalid(t, ev.Invalid, 100000, "100000 instances dropped")
	if n := len(ev.Invalid.Error()); n > 1000 {
		t.Fatalf("error of %d bytes", n)
	}
}

// TestValidateAll is the validator every publisher shares.
func TestValidateAll(t *testing.T) {
	good, err := publisher.ValidateAll(badSet)
	if fmt.Sprint(publisher.Addresses(good)) != "[a:1 b:1]" || good[1].Weight != 2 {
		t.Fatalf("kept %+v", good)
	}
	checkInvalid(t, err, 3)
	good, err = publisher.ValidateAll(publisher.FromAddresses("b:1", "a:1"))
	if err != nil || fmt.Sprint(publisher.Addresses(good)) != "[a:1 b:1]" {
		t.Fatalf("valid set: %v %v", good, err)
	}
	if good, err := publisher.ValidateAll(nil); len(good) != 0 || err != nil {
		t.Fatalf("nil set: %v %v", good, err)
	}
}

// TestFromInstancerDropsInvalidInstances: a go-kit instancer's empty
// string and duplicate never become hosts.
func TestFromInstancerDropsInvalidInstances(t *testing.T) {
	var logged logRecorder
	p, err := publisher.FromInstancer(sd.FixedInstancer{"", "a:1", "a:1", "b:1"}, publisher.WithLogger(&logged))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	s := p.Subscribe()
	ev := recv(t, s)
	if got := fmt.Sprint(addrs(ev)); got != "[a:1 b:1]" {
		t.Fatalf("instances %s, want [a:1 b:1]", got)
	}
	checkInvalid(t, ev.Invalid, 2, "empty address", "duplicate address a:1")
	if n := logged.count("instance dropped"); n != 2 {
		t.Errorf("%d drops logged, want 2: %v", n, logged.lines)
	}
}

type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Log(kv ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprint(kv...))
	return nil
}

func (l *logRecorder) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// counter is a go-kit metrics.Counter that remembers its total.
type counter struct {
	mu sync.Mutex
	v  float64
}

func (c *counter) With(...string) metrics.Counter { return c }

func (c *counter) Add(d float64) {
	c.mu.Lock()
	c.v += d
	c.mu.Unlock()
}

func (c *counter) value() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.v
}
