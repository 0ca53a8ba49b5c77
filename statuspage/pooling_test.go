package statuspage_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/seed41aebe0c/lbkit/pooling"
	"github.com/seed41aebe0c/lbkit/statuspage"
	"github.com/seed41aebe0c/lbkit/strategy"
)

func TestWithService(t *testing.T) {
	var typedNil *pooling.Service[net.Conn]
	for _, src := range []statuspage.ServiceSource{nil, typedNil} {
		if _, err := statuspage.New(statuspage.WithService("x", src)); !errors.Is(err, statuspage.ErrInvalidArgument) {
			t.Fatalf("nil service %#v: err %v, want ErrInvalidArgument", src, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() { // accept and hold connections until the test ends
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	defer func() { ln.Close(); <-done }()

	driver, err := pooling.NewNetDriver("tcp")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := pooling.NewService[net.Conn]("echo", driver, pooling.WithPrespawn(0), pooling.WithoutTestOnBorrow())
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if err := svc.Add(ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	c, err := svc.GetConn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	page, err := statuspage.New(statuspage.WithService("echo conns", svc))
	if err != nil {
		t.Fatal(err)
	}
	defer page.Close()
	rows := page.Snapshot().Pools[0].Rows
	if len(rows) != 1 || rows[0].Name != ln.Addr().String() || rows[0].Counts["lent"] != 1 || rows[0].Counts["dialled"] != 1 {
		t.Fatalf("rows %+v", rows)
	}
	c.Release(nil, strategy.HostUp)
	if _, ok := rows[0].Counts["score %"]; ok {
		t.Fatalf("the pool table shows the service's own score, which is not the balancer's: %+v", rows[0])
	}
	if got := page.Snapshot().Pools[0].Rows[0].Counts; got["idle"] != 1 || got["lent"] != 0 {
		t.Fatalf("after release %+v", got)
	}
}
