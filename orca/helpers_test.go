package orca_test

import (
	"testing"

	"github.com/seed41aebe0c/lbkit/strategy"
)

func mustHost(t *testing.T, addr string) *strategy.Host {
	t.Helper()
	h, err := strategy.NewHost(addr, 1)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func hostsOf(hs ...*strategy.Host) []*strategy.Host { return hs }
