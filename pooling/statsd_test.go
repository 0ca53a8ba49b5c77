package pooling_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/go-kit/kit/metrics/statsd"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/pooling"
)

func TestStatsdMetrics(t *testing.T) {
	if _, err := pooling.NewStatsdMetrics(nil, "", 1); !errors.Is(err, pooling.ErrInvalidArgument) {
		t.Fatal("nil sender accepted")
	}
	sender := statsd.New("svc.", log.NewNopLogger())
	for _, rate := range []float64{0, -1, 1.5} {
		if _, err := pooling.NewStatsdMetrics(sender, "", rate); !errors.Is(err, pooling.ErrInvalidArgument) {
			t.Fatalf("sample rate %v accepted", rate)
		}
	}
	m, err := pooling.NewStatsdMetrics(sender, "pool.", 1)
	if err != nil {
		t.Fatal(err)
	}
	a := startEcho(t)
	s := newService(t, []string{a.addr}, pooling.WithMetrics(m), pooling.WithPrespawn(0))
	for range 3 {
		if _, err := use(s); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
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
