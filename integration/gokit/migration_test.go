package gokit

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"
	"go.uber.org/goleak"

	"github.com/seed41aebe0c/lbkit/integration/internal/stringsvc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clients are the two versions of one client: go-kit's and lbkit's.
var clients = []struct {
	name  string
	build func(sd.Instancer, sd.Factory, log.Logger) (stringsvc.Client, error)
}{
	{"go-kit", stringsvc.GoKitClient},
	{"lbkit", stringsvc.LBKitClient},
}

// serve starts an instance of the string service on 127.0.0.1.
func serve(t *testing.T, delay time.Duration) (string, *stringsvc.Instance) {
	t.Helper()
	in := &stringsvc.Instance{Delay: delay}
	srv := httptest.NewServer(in.Handler())
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), in
}

// down returns a 127.0.0.1 address that refuses connections: an instance
// that discovery still lists but that has died.
func down(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func words(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("word-%d", i)
	}
	return out
}

func upper(in []string) []stringsvc.Outcome {
	out := make([]stringsvc.Outcome, len(in))
	for i, s := range in {
		out[i] = stringsvc.Outcome{V: strings.ToUpper(s)}
	}
	return out
}

// TestSameResultsAsGoKit runs both clients under go-kit's sd.FixedInstancer
// with one sd.Factory value, call by call, and checks that each returns
// what go-kit's client returns, and what the service should.
func TestSameResultsAsGoKit(t *testing.T) {
	refused := func(addr string) stringsvc.Outcome {
		// The error of go-kit's HTTP client endpoint, unchanged by either
		// balancer or retry.
		c := &http.Client{}
		_, err := c.Post("http://"+addr+"/uppercase", "application/json", strings.NewReader("{}"))
		if err == nil {
			t.Fatalf("%s answered", addr)
		}
		return stringsvc.Outcome{Attempts: stringsvc.MaxAttempts, Final: err.Error()}
	}
	type scenario struct {
		instances []string
		served    []*stringsvc.Instance // counted per client, compared across
		inputs    []string
		want      []stringsvc.Outcome
	}
	scenarios := map[string]func(t *testing.T) scenario{
		"three instances": func(t *testing.T) scenario {
			a, ia := serve(t, 0)
			b, ib := serve(t, 0)
			c, ic := serve(t, 0)
			in := words(30)
			return scenario{[]string{a, b, c}, []*stringsvc.Instance{ia, ib, ic}, in, upper(in)}
		},
		"one of four instances down": func(t *testing.T) scenario {
			a, _ := serve(t, 0)
			b, _ := serve(t, 0)
			c, _ := serve(t, 0)
			in := words(30)
			return scenario{[]string{a, b, down(t), c}, nil, in, upper(in)}
		},
		"a request every instance rejects": func(t *testing.T) scenario {
			a, _ := serve(t, 0)
			b, _ := serve(t, 0)
			c, _ := serve(t, 0)
			rejected := stringsvc.Outcome{Attempts: stringsvc.MaxAttempts, Final: stringsvc.ErrEmpty.Error()}
			return scenario{[]string{a, b, c}, nil, []string{"", "x", ""}, []stringsvc.Outcome{rejected, {V: "X"}, rejected}}
		},
		"the only instance down": func(t *testing.T) scenario {
			d := down(t)
			return scenario{[]string{d}, nil, []string{"a", "b"}, []stringsvc.Outcome{refused(d), refused(d)}}
		},
		"no instances": func(t *testing.T) scenario {
			none := stringsvc.Outcome{Attempts: stringsvc.MaxAttempts, NoEndpoints: true}
			// Empty, not nil: publisher.FromInstancer refuses a nil
			// sd.FixedInstancer as a nil argument, though go-kit serves it.
			return scenario{[]string{}, nil, []string{"a"}, []stringsvc.Outcome{none}}
		},
		"every instance slower than the retry's timeout": func(t *testing.T) scenario {
			a, _ := serve(t, 5*stringsvc.MaxTime)
			b, _ := serve(t, 5*stringsvc.MaxTime)
			return scenario{[]string{a, b}, nil, []string{"a"}, []stringsvc.Outcome{{Deadline: true}}}
		},
	}
	for name, setup := range scenarios {
		t.Run(name, func(t *testing.T) {
			sc := setup(t)
			instancer := sd.FixedInstancer(sc.instances)
			httpClient := &http.Client{Transport: &http.Transport{}}
			t.Cleanup(httpClient.CloseIdleConnections)
			var factory sd.Factory = stringsvc.Factory(httpClient)

			got := map[string][]stringsvc.Outcome{}
			served := map[string][]int64{}
			for _, c := range clients {
				before := make([]int64, len(sc.served))
				for i, in := range sc.served {
					before[i] = in.Served.Load()
				}
				client, err := c.build(instancer, factory, log.NewNopLogger())
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if len(sc.instances) > 0 {
					stringsvc.WaitReady(t, client)
				}
				for _, s := range sc.inputs {
					got[c.name] = append(got[c.name], stringsvc.Call(client.Uppercase, s))
				}
				client.Stop()
				for i, in := range sc.served {
					served[c.name] = append(served[c.name], in.Served.Load()-before[i])
				}
			}
			for _, c := range clients {
				if !reflect.DeepEqual(got[c.name], sc.want) {
					t.Errorf("%s client:\n got %+v\nwant %+v", c.name, got[c.name], sc.want)
				}
			}
			if !reflect.DeepEqual(served["go-kit"], served["lbkit"]) {
				t.Errorf("calls per instance: go-kit %v, lbkit %v", served["go-kit"], served["lbkit"])
			}
		})
	}
}
