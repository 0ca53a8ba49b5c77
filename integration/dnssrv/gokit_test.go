package dnssrv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	kitdnssrv "github.com/go-kit/kit/sd/dnssrv"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/integration/internal/stringsvc"
)

// TestGoKitInstancerMigration runs the go-kit client and the same client on
// lbkit (internal/stringsvc/client.go: only the constructor lines differ)
// under go-kit's own DNS SRV instancer, polling this package's real DNS
// server: both return the same results call by call, spread them the same
// way, and both stop calling an instance whose record is removed.
func TestGoKitInstancerMigration(t *testing.T) {
	const name = "_strings._tcp." + domain
	z := startZone(t, 0)
	res := z.resolver()
	ins := make([]*stringsvc.Instance, 3)
	for i := range ins {
		ins[i] = &stringsvc.Instance{}
		srv := httptest.NewServer(ins[i].Handler())
		t.Cleanup(srv.Close)
		_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		p, _ := strconv.Atoi(port)
		z.add(name, srvRecord(name, fmt.Sprintf("s%d", i), uint16(p), 10, 1))
	}

	// go-kit's instancer, as a go-kit program makes it, pointed at the
	// test's DNS server instead of the system's.
	lookupCtx, stopLookups := context.WithCancel(context.Background())
	var inLookup atomic.Int32
	lookup := func(service, proto, name string) (string, []*net.SRV, error) {
		inLookup.Add(1)
		defer inLookup.Add(-1)
		ctx, cancel := context.WithTimeout(lookupCtx, 2*time.Second)
		defer cancel()
		return res.LookupSRV(ctx, service, proto, name)
	}
	instancer := kitdnssrv.NewInstancerDetailed(name, time.NewTicker(20*time.Millisecond), lookup, log.NewNopLogger())
	defer func() {
		// go-kit's Stop does not wait for its loop, which may be in a
		// lookup: end that lookup and wait for it, so that the loop has
		// returned before goleak looks (and before the DNS server stops).
		instancer.Stop()
		stopLookups()
		for deadline := time.Now().Add(10 * time.Second); inLookup.Load() > 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}()
	// The instances are names only this DNS server knows, so the HTTP
	// client dials through it.
	httpClient := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Resolver: res}).DialContext}}
	defer httpClient.CloseIdleConnections()
	var factory sd.Factory = stringsvc.Factory(httpClient)

	clients := map[string]func(sd.Instancer, sd.Factory, log.Logger) (stringsvc.Client, error){
		"go-kit": stringsvc.GoKitClient,
		"lbkit":  stringsvc.LBKitClient,
	}
	inputs := make([]string, 30)
	want := make([]stringsvc.Outcome, len(inputs))
	for i := range inputs {
		inputs[i] = fmt.Sprintf("call %d", i)
		want[i] = stringsvc.Outcome{V: strings.ToUpper(inputs[i])}
	}
	built := map[string]stringsvc.Client{}
	for name, build := range clients {
		c, err := build(instancer, factory, log.NewNopLogger())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer c.Stop()
		built[name] = c
		stringsvc.WaitReady(t, c)
	}
	// Both clients see all three instances once every one has been called.
	for _, c := range built {
		stringsvc.WaitServing(t, c, ins)
	}
	stringsvc.Compare(t, "three records", built, inputs, want, ins, -1)

	// The record of s1 goes: once the instancer has polled, neither client
	// calls it.
	z.remove(name, dnsName("s1"))
	for _, c := range built {
		stringsvc.WaitGone(t, c, ins[1], len(ins))
	}
	stringsvc.Compare(t, "s1 removed", built, inputs, want, ins, 1)
}
