package lbmetrics_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/go-kit/kit/metrics/statsd"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/lbmetrics"
)

func TestStatsd(t *testing.T) {
	if _, err := lbmetrics.NewStatsd(nil, "app."); !errors.Is(err, lbmetrics.ErrInvalidArgument) {
		t.Fatalf("nil sender: %v", err)
	}
	s := statsd.New("", log.NewNopLogger())
	sm, err := lbmetrics.NewStatsd(s, "app.")
	if err != nil {
		t.Fatal(err)
	}
	set := sm.Service("users")
	set.Balancer.Requests.With("host", "10.0.0.1:80").Add(3)
	set.Retry.RequestDuration.Observe(0.25)
	set.Pool.HostsScore.Set(50)
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"app.users.balancer.host_requests:3.000000|c",
		"app.users.retry.request_duration:250.000000|ms", // seconds as milliseconds
		"app.users.pool.host_score_mean_percent:50.000000|g",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("statsd output lacks %q:\n%s", want, buf.String())
		}
	}
}
