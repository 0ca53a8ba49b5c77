package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The whole example runs against real registries in integration/; here, the
// ways it must refuse to start.
func TestRefusesBadSetup(t *testing.T) {
	for _, c := range []struct {
		cfg  config
		want string
	}{
		{config{registry: "zookeeper", instances: 3, requests: 10}, "unknown registry"},
		{config{registry: "consul", consulAddr: "127.0.0.1:1", instances: 3, requests: 10}, "make registry"},
		{config{registry: "consul", instances: 1, requests: 10}, "at least 2"},
	} {
		err := run(context.Background(), c.cfg, io.Discard, log.NewNopLogger())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want it to mention %q", c.cfg, err, c.want)
		}
	}
}
