package statuspage_test

import (
	"context"
	"io"
	"testing"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/orca"
	"github.com/seed41aebe0c/lbkit/publisher/static"
	"github.com/seed41aebe0c/lbkit/statuspage"
)

// A host's reported load shows in its row; a host that never reported has
// none.
func TestSnapshotShowsReportedLoad(t *testing.T) {
	p, err := static.NewAddresses("127.0.0.1:1", "127.0.0.1:2")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	reports := new(orca.Reports)
	f := func(string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) { return nil, nil }, nil, nil
	}
	b, err := loadbalancer.New(p, f, loadbalancer.WithHostWatcher(reports))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := reports.ReportHeader("127.0.0.1:1", "TEXT cpu_utilization=0.4,rps_fractional=30,eps=2"); err != nil {
		t.Fatal(err)
	}
	page, err := statuspage.New(statuspage.WithBalancer("svc", b))
	if err != nil {
		t.Fatal(err)
	}
	defer page.Close()
	rows := page.Snapshot().Balancers[0].Hosts
	byAddr := map[string]statuspage.HostRow{}
	for _, r := range rows {
		byAddr[r.Address] = r
	}
	l := byAddr["127.0.0.1:1"].Load
	if l == nil || l.CPUUtilization != 0.4 || l.RPS != 30 || l.EPS != 2 || l.Reports != 1 {
		t.Errorf("reporting host's load row %+v", l)
	}
	if l := byAddr["127.0.0.1:2"].Load; l != nil {
		t.Errorf("silent host has a load row %+v", l)
	}
}
