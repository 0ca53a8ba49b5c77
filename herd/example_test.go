package herd_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"

	kitprometheus "github.com/go-kit/kit/metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/seed41aebe0c/lbkit/herd"
)

func Example() {
	square := func(_ context.Context, w *herd.Work[int, int]) herd.Status {
		w.Result = w.Body * w.Body
		return herd.Success
	}
	h, err := herd.New(square, herd.WithSize(3))
	if err != nil {
		panic(err)
	}
	defer h.Close()

	go func() {
		for i := range 5 {
			// Blocks until a worker takes the item.
			_ = h.Send(context.Background(), herd.Work[int, int]{ID: fmt.Sprint("n", i), Body: i})
		}
		h.CloseInput()
	}()

	var lines []string
	for w := range h.Output() { // closes when all the work is done
		lines = append(lines, fmt.Sprintf("%s %v %d", w.ID, w.Status(), w.Result))
	}
	sort.Strings(lines) // workers finish in any order
	fmt.Println(strings.Join(lines, "\n"))
	// Output:
	// n0 success 0
	// n1 success 1
	// n2 success 4
	// n3 success 9
	// n4 success 16
}

// Counters through go-kit's Prometheus backend, served on /metrics beside
// the herd's size control on /herd.
func Example_prometheus() {
	reg := prometheus.NewRegistry()
	counter := func(name, help string) *kitprometheus.Counter {
		cv := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "herd", Name: name, Help: help}, nil)
		reg.MustRegister(cv)
		return kitprometheus.NewCounter(cv)
	}
	gauge := func(name, help string) *kitprometheus.Gauge {
		gv := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "herd", Name: name, Help: help}, nil)
		reg.MustRegister(gv)
		return kitprometheus.NewGauge(gv)
	}
	m := herd.Metrics{
		Success: counter("success_total", "Items that succeeded."),
		Retry:   counter("retry_total", "Retries granted."),
		Failure: counter("failure_total", "Items that failed."),
		Size:    gauge("size", "Workers the herd should have."),
		Busy:    gauge("busy", "Workers processing an item."),
	}

	// Odd numbers need one retry; 3 never works.
	fn := func(_ context.Context, w *herd.Work[int, int]) herd.Status {
		switch {
		case w.Body == 3:
			return herd.Failure
		case w.Body%2 == 1 && w.Attempts() == 1:
			return herd.Retry
		}
		return herd.Success
	}
	h, err := herd.New(fn, herd.WithSize(2), herd.WithMetrics(&m))
	if err != nil {
		panic(err)
	}
	defer h.Close()

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/herd", h.Handler())
	srv := httptest.NewServer(mux) // 127.0.0.1
	defer srv.Close()

	go func() {
		for i := range 6 {
			_ = h.Send(context.Background(), herd.Work[int, int]{Body: i})
		}
		h.CloseInput()
	}()
	for range h.Output() {
	}

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "herd_") {
			fmt.Println(sc.Text())
		}
	}
	// Output:
	// herd_busy 0
	// herd_failure_total 1
	// herd_retry_total 2
	// herd_size 2
	// herd_success_total 5
}
