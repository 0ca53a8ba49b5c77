package grpcpool

import (
	"testing"

	"google.golang.org/grpc/connectivity"
)

func TestScaleTarget(t *testing.T) {
	s := ScaleConfig{DesiredMaxStreams: 80, MaxConns: 300}
	cases := []struct {
		size  int
		total int64
		want  int
	}{
		{3, 0, 3},
		{3, 240, 3},  // exactly at the limit: no growth
		{3, 241, 4},  // any excess adds at least one
		{3, 280, 4},  // (280−240)/40 = 1
		{3, 281, 5},  // rounded up
		{3, 640, 13}, // (640−240)/40 = 10
		{3, 1_000_000, 300},
		{300, 1_000_000, 300},
	}
	for _, c := range cases {
		if got := scaleTarget(c.size, c.total, s); got != c.want {
			t.Errorf("scaleTarget(%d, %d) = %d, want %d", c.size, c.total, got, c.want)
		}
	}
	// A desired maximum of 1 still has a step of one connection.
	if got := scaleTarget(1, 5, ScaleConfig{DesiredMaxStreams: 1, MaxConns: 10}); got != 5 {
		t.Errorf("desired 1: got %d, want 5", got)
	}
}

func newTestConn(s connectivity.State, inflight int64) *conn {
	c := &conn{}
	c.state.Store(int32(s))
	c.inflight.Store(inflight)
	return c
}

func TestPickPrefersReadyThenLeastLoaded(t *testing.T) {
	ready9 := newTestConn(connectivity.Ready, 9)
	ready2 := newTestConn(connectivity.Ready, 2)
	idle0 := newTestConn(connectivity.Idle, 0)
	failing0 := newTestConn(connectivity.TransientFailure, 0)

	for range 100 {
		if c, r := pick([]*conn{idle0, ready9, ready2}, nil); c != ready2 || r != rankReady {
			t.Fatal("did not pick the least loaded READY connection")
		}
		// Four connections: a sample of three always holds a READY one.
		if _, r := pick([]*conn{failing0, idle0, ready9, ready2}, nil); r != rankReady {
			t.Fatal("did not pick a READY connection")
		}
		if c, r := pick([]*conn{failing0, idle0}, nil); c != idle0 || r != rankIdle {
			t.Fatal("did not prefer IDLE to TRANSIENT_FAILURE")
		}
		if c, _ := pick([]*conn{ready2, failing0}, []*conn{ready2}); c != failing0 {
			t.Fatal("exclude not honoured")
		}
		if c, _ := pick([]*conn{ready2, failing0}, []*conn{ready2, failing0}); c != nil {
			t.Fatal("expected nil when only the excluded connection is left")
		}
	}

	// A large pool samples three; when none of them is READY it still
	// finds the one READY connection.
	conns := make([]*conn, 50)
	for i := range conns {
		conns[i] = newTestConn(connectivity.Connecting, 0)
	}
	conns[37] = newTestConn(connectivity.Ready, 100)
	for range 100 {
		if c, _ := pick(conns, nil); c != conns[37] {
			t.Fatal("did not fall back to the only READY connection")
		}
	}
}

func TestPickAllocatesNothing(t *testing.T) {
	conns := make([]*conn, 10)
	for i := range conns {
		conns[i] = newTestConn(connectivity.Ready, int64(i))
	}
	if n := testing.AllocsPerRun(1000, func() { pick(conns, nil) }); n != 0 {
		t.Fatalf("pick allocates %v times", n)
	}
}
