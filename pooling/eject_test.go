package pooling_test

import (
	"testing"

	"github.com/seed41aebe0c/lbkit/pooling"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// TestServiceEjectsADeadHost: a Service's hosts are the strategy's host
// set, so outlier ejection works there as in the balancer: a host whose
// dials fail five times in a row is ejected, and no more dials go to it.
func TestServiceEjectsADeadHost(t *testing.T) {
	a, b, dead := startEcho(t), startEcho(t), startEcho(t)
	dead.Kill()
	s := newService(t, []string{a.addr, b.addr, dead.addr},
		pooling.WithHostOptions(strategy.WithOutlierEjection(strategy.OutlierEjection{})))
	for range 30 {
		if addr, err := use(s); err != nil {
			t.Fatalf("use through %q failed: %v", addr, err)
		}
	}
	st := hostStatus(t, s, dead.addr)
	if !st.Ejected || st.EjectionReason != strategy.EjectedConsecutiveFailures || st.Failures != strategy.DefaultConsecutiveFailures {
		t.Fatalf("dead host: failures %d, %+v", st.Failures, st.HostHealth)
	}
	if h := s.Status().Health; h.Ejected != 1 || h.Ejections != 1 {
		t.Fatalf("service health %+v", h)
	}
	dials := st.Pool.DialFailures
	for range 30 {
		if addr, err := use(s); err != nil || addr == dead.addr {
			t.Fatalf("use through %q: %v", addr, err)
		}
	}
	if got := hostStatus(t, s, dead.addr).Pool.DialFailures; got != dials {
		t.Fatalf("dials to the ejected host went on: %d, then %d", dials, got)
	}
}
