package consul

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	consulsd "github.com/go-kit/kit/sd/consul"
	"github.com/go-kit/log"
	"github.com/hashicorp/consul/api"

	"github.com/seed41aebe0c/lbkit/integration/internal/stringsvc"
)

// TestGoKitInstancerMigration is the README's migration snippet run for
// real: go-kit's own Consul instancer (consulsd.NewInstancer, passing
// instances only) under the go-kit client and under the same client on
// lbkit (internal/stringsvc/client.go: only the constructor lines differ).
// Both return the same results call by call, spread them the same way, and
// both stop calling an instance once it deregisters.
func TestGoKitInstancerMigration(t *testing.T) {
	const service = "strings"
	a := startAgent(t)
	ins := make([]*stringsvc.Instance, 3)
	regs := make([]*api.AgentServiceRegistration, 3)
	for i := range ins {
		ins[i] = &stringsvc.Instance{}
		srv := httptest.NewServer(ins[i].Handler())
		t.Cleanup(srv.Close)
		regs[i] = &api.AgentServiceRegistration{
			ID: fmt.Sprintf("strings-%d", i), Name: service,
			Address: "127.0.0.1", Port: srv.Listener.Addr().(*net.TCPAddr).Port,
		}
	}
	registered(t, a, regs[0])
	r1 := registered(t, a, regs[1])
	registered(t, a, regs[2])

	apiClient, err := api.NewClient(clientConfig(a))
	if err != nil {
		t.Fatal(err)
	}
	// The instancer is stopped before the agent is killed (cleanups run
	// last-in first-out), and the kill ends its blocking query.
	instancer := consulsd.NewInstancer(consulsd.NewClient(apiClient), log.NewNopLogger(), service, nil, true)
	t.Cleanup(instancer.Stop)
	httpClient := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(httpClient.CloseIdleConnections)
	var factory sd.Factory = stringsvc.Factory(httpClient)

	built := map[string]stringsvc.Client{}
	for name, build := range map[string]func(sd.Instancer, sd.Factory, log.Logger) (stringsvc.Client, error){
		"go-kit": stringsvc.GoKitClient,
		"lbkit":  stringsvc.LBKitClient,
	} {
		c, err := build(instancer, factory, log.NewNopLogger())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(c.Stop)
		built[name] = c
		stringsvc.WaitReady(t, c)
		stringsvc.WaitServing(t, c, ins)
	}
	inputs := make([]string, 30)
	want := make([]stringsvc.Outcome, len(inputs))
	for i := range inputs {
		inputs[i] = fmt.Sprintf("call %d", i)
		want[i] = stringsvc.Outcome{V: strings.ToUpper(inputs[i])}
	}
	stringsvc.Compare(t, "three instances", built, inputs, want, ins, -1)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r1.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range built {
		stringsvc.WaitGone(t, c, ins[1], len(ins))
	}
	stringsvc.Compare(t, "strings-1 deregistered", built, inputs, want, ins, 1)
}
