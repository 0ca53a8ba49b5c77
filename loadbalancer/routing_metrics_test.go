package loadbalancer_test

import (
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/lbmetrics"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// hostList is a HostWatcher that keeps the balancer's hosts.
type hostList struct {
	mu    sync.Mutex
	hosts []*strategy.Host
}

func (l *hostList) SetHosts(hs []*strategy.Host) {
	l.mu.Lock()
	l.hosts = hs
	l.mu.Unlock()
}

func (l *hostList) get() []*strategy.Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hosts
}

// TestRoutingMetrics: the share of each priority tier and the load hosts
// report reach the metrics.
func TestRoutingMetrics(t *testing.T) {
	p, err := static.New(
		publisher.Instance{Address: "a"}, publisher.Instance{Address: "b"},
		publisher.Instance{Address: "c", Priority: 1}, publisher.Instance{Address: "d", Priority: 1},
	)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	reg := prometheus.NewRegistry()
	pm, err := lbmetrics.NewPrometheus(reg, "lbkit")
	if err != nil {
		t.Fatal(err)
	}
	watch := &hostList{}
	b, err := loadbalancer.New(p, newBackends().factory, loadbalancer.WithMetrics(pm.Service("tiers").Balancer), loadbalancer.WithHostWatcher(watch))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the hosts", func() bool { return len(watch.get()) == 4 })
	for _, h := range watch.get() {
		if h.Address() == "a" {
			h.ReportLoad(strategy.LoadReport{CPUUtilization: 0.25, RPS: 100})
		}
	}
	for range 20 {
		if _, err := call(t, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil { // reports once more
		t.Fatal(err)
	}
	ms := gather(t, reg)
	if v, ok := ms["lbkit_balancer_group_share_ratio{priority=0}{service=tiers}{zone=}"]; !ok || v != 1 {
		t.Errorf("tier 0's share = %v (present %v), want 1 while it is healthy; %v", v, ok, ms)
	}
	if v, ok := ms["lbkit_balancer_group_share_ratio{priority=1}{service=tiers}{zone=}"]; !ok || v != 0 {
		t.Errorf("tier 1's share = %v (present %v), want 0", v, ok)
	}
	if v, ok := ms["lbkit_balancer_host_reported_utilization_ratio{host=a}{service=tiers}"]; !ok || v != 0.25 {
		t.Errorf("a's reported utilization = %v (present %v), want 0.25", v, ok)
	}
	if _, ok := ms["lbkit_balancer_host_reported_utilization_ratio{host=b}{service=tiers}"]; ok {
		t.Error("b never reported, yet has a utilization series")
	}
}
