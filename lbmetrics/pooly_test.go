package lbmetrics_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/go-kit/kit/metrics/statsd"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/lbmetrics"
	"github.com/seed41aebe0c/lbkit/pooling"
)

// TestPoolyStatsdNames: a pool over a real TCP listener on 127.0.0.1
// reports under pooly's statsd names.
func TestPoolyStatsdNames(t *testing.T) {
	if _, err := lbmetrics.NewPoolyStatsd(nil, "", 1); !errors.Is(err, lbmetrics.ErrInvalidArgument) {
		t.Fatal("nil sender accepted")
	}
	sender := statsd.New("svc.", log.NewNopLogger())
	for _, rate := range []float64{0, -1, 1.5} {
		if _, err := lbmetrics.NewPoolyStatsd(sender, "", rate); !errors.Is(err, lbmetrics.ErrInvalidArgument) {
			t.Fatalf("sample rate %v accepted", rate)
		}
	}
	m, err := lbmetrics.NewPoolyStatsd(sender, "pool.", 1)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	d, err := pooling.NewNetDriver("tcp")
	if err != nil {
		t.Fatal(err)
	}
	p, err := pooling.NewPool[net.Conn](ln.Addr().String(), d, pooling.WithMetrics(m), pooling.WithPrespawn(0))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		c, err := p.Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Put(c, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := sender.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"svc.pool.conns.get.count:3.000000|c", "svc.pool.conns.put.count:3.000000|c", "svc.pool.conns.get.delay:", "|ms"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("statsd output lacks %q:\n%s", want, buf.String())
		}
	}
}
