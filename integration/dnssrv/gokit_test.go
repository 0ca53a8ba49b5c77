package dnssrv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
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
	lookup := func(service, proto, name string) (string, []*net.SRV, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return res.LookupSRV(ctx, service, proto, name)
	}
	instancer := kitdnssrv.NewInstancerDetailed(name, time.NewTicker(20*time.Millisecond), lookup, log.NewNopLogger())
	defer instancer.Stop()
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
	run := func(c stringsvc.Client) (got []stringsvc.Outcome, served []int64) {
		before := make([]int64, len(ins))
		for i, in := range ins {
			before[i] = in.Served.Load()
		}
		for _, s := range inputs {
			got = append(got, stringsvc.Call(c.Uppercase, s))
		}
		for i, in := range ins {
			served = append(served, in.Served.Load()-before[i])
		}
		return got, served
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
	for name, c := range built {
		deadline := time.Now().Add(10 * time.Second)
		for ins[0].Served.Load() == 0 || ins[1].Served.Load() == 0 || ins[2].Served.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not every instance was called", name)
			}
			stringsvc.Call(c.Uppercase, "warm up")
		}
	}
	compare := func(stage string, zero int) {
		t.Helper()
		got, served := map[string][]stringsvc.Outcome{}, map[string][]int64{}
		for name, c := range built {
			got[name], served[name] = run(c)
			if !reflect.DeepEqual(got[name], want) {
				t.Errorf("%s, %s client:\n got %+v\nwant %+v", stage, name, got[name], want)
			}
			for i, n := range served[name] {
				if (i == zero) != (n == 0) {
					t.Errorf("%s, %s client: calls per instance %v", stage, name, served[name])
					break
				}
			}
		}
		if !reflect.DeepEqual(served["go-kit"], served["lbkit"]) {
			t.Errorf("%s: calls per instance: go-kit %v, lbkit %v", stage, served["go-kit"], served["lbkit"])
		}
	}
	compare("three records", -1)

	// The record of s1 goes: once the instancer has polled, neither client
	// calls it.
	z.remove(name, dnsName("s1"))
	for name, c := range built {
		deadline := time.Now().Add(10 * time.Second)
		for {
			before := ins[1].Served.Load()
			for range 6 {
				stringsvc.Call(c.Uppercase, "settle")
			}
			if ins[1].Served.Load() == before {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: still calls the removed instance", name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	compare("s1 removed", 1)
}
