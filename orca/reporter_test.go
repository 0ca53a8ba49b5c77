package orca_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/seed41aebe0c/lbkit/orca"
)

// waitLoad waits (bounded) for the Reporter's first report.
func waitLoad(t *testing.T, r *orca.Reporter) orca.Load {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if l, ok := r.Load(); ok {
			return l
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no report within 10 s")
	return orca.Load{}
}

// The Reporter measures the process's own CPU: a second of one goroutine
// spinning shows as CPU utilization (of GOMAXPROCS), and the requests
// counted as RPS and EPS.
func TestReporterMeasuresCPUAndRequests(t *testing.T) {
	r, err := orca.NewReporter()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.Load(); ok || r.Value() != "" {
		t.Fatal("a report before the first interval")
	}
	for range 30 {
		r.Served(false)
	}
	for range 10 {
		r.Served(true)
	}
	stop := time.Now().Add(1200 * time.Millisecond)
	x := 0
	for time.Now().Before(stop) { // spin on this goroutine
		x++
	}
	l := waitLoad(t, r)
	if l.CPUUtilization <= 0.05 || l.CPUUtilization > 1.5 {
		t.Errorf("CPU utilization %v after spinning one of %d Ps: want some", l.CPUUtilization, runtime.GOMAXPROCS(0))
	}
	if l.RPS < 20 || l.RPS > 41 || l.EPS < 5 || l.EPS > 11 {
		t.Errorf("RPS %v, EPS %v: want about 40 and 10 over the first second", l.RPS, l.EPS)
	}
	if v, _ := orca.Parse(r.Value()); v.RPS != l.RPS {
		t.Errorf("Value %q does not carry Load %+v", r.Value(), l)
	}
	if r.Close() != nil || r.Close() != nil {
		t.Error("Close failed")
	}
	_ = x
}

func TestNewReporterRejectsBadOptions(t *testing.T) {
	for name, o := range map[string]orca.Option{
		"nil option":    nil,
		"zero interval": orca.WithInterval(0),
		"negative":      orca.WithInterval(-time.Second),
		"nil load func": orca.WithLoadFunc(nil),
	} {
		if r, err := orca.NewReporter(o); !errors.Is(err, orca.ErrInvalidArgument) {
			if r != nil {
				r.Close()
			}
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
}

// A load the application made invalid is not sent; the last valid one is.
func TestReporterKeepsLastValidLoad(t *testing.T) {
	bad := make(chan bool, 1)
	bad <- false
	r, err := orca.NewReporter(orca.WithInterval(50*time.Millisecond), orca.WithLoadFunc(func(m orca.Load) orca.Load {
		select {
		case b := <-bad:
			if b {
				m.ApplicationUtilization = -1
				return m
			}
		default:
		}
		m.ApplicationUtilization = 0.5
		return m
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if l := waitLoad(t, r); l.ApplicationUtilization != 0.5 {
		t.Fatalf("first load %+v", l)
	}
	bad <- true
	time.Sleep(200 * time.Millisecond)
	if l, _ := r.Load(); l.ApplicationUtilization != 0.5 {
		t.Errorf("after an invalid load: %+v", l)
	}
}

// The go-kit server hooks: ServerAfter on success, ServerErrorEncoder on
// failure, both with the header; the real go-kit client's ClientAfter and
// ClientFinalizer read it back into Reports.
func TestGoKitServerAndClientHooks(t *testing.T) {
	rep, err := orca.NewReporter(orca.WithLoadFunc(func(m orca.Load) orca.Load {
		m.ApplicationUtilization, m.RPS = 0.25, 40
		return m
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	waitLoad(t, rep)

	fail := errors.New("no")
	srv := httptransport.NewServer(
		func(_ context.Context, req any) (any, error) {
			if req.(string) == "fail" {
				return nil, fail
			}
			return "ok", nil
		},
		func(_ context.Context, r *http.Request) (any, error) { return r.URL.Query().Get("q"), nil },
		func(_ context.Context, w http.ResponseWriter, resp any) error {
			_, err := io.WriteString(w, resp.(string))
			return err
		},
		httptransport.ServerAfter(rep.ServerAfter()),
		httptransport.ServerErrorEncoder(rep.ServerErrorEncoder(nil)),
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	defer hs.Close()
	addr := ln.Addr().String()

	reports := new(orca.Reports)
	h := mustHost(t, addr)
	reports.SetHosts(hostsOf(h))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	call := func(q string, opt httptransport.ClientOption) error {
		u, _ := url.Parse("http://" + addr + "/?q=" + q)
		var ep endpoint.Endpoint = httptransport.NewClient(http.MethodGet, u,
			func(context.Context, *http.Request, any) error { return nil },
			func(_ context.Context, r *http.Response) (any, error) {
				if r.StatusCode >= 500 {
					return nil, errors.New(r.Status)
				}
				return nil, nil
			},
			httptransport.SetClient(&http.Client{Transport: tr}), opt).Endpoint()
		_, err := ep(context.Background(), nil)
		return err
	}
	if err := call("ok", httptransport.ClientAfter(orca.ClientAfter(reports, addr))); err != nil {
		t.Fatal(err)
	}
	if err := call("fail", httptransport.ClientFinalizer(orca.ClientFinalizer(reports, addr))); err == nil {
		t.Fatal("the failing call succeeded")
	}
	st := h.Stats().Load
	if st.Reports != 2 || st.Last.ApplicationUtilization != 0.25 || st.Last.RPS != 40 {
		t.Errorf("host's load after a success and a failure: %+v", st)
	}
}
