package herd_test

import (
	"context"
	"errors"
	"testing"

	"github.com/go-kit/kit/metrics/generic"

	"github.com/seed41aebe0c/lbkit/herd"
)

func TestWithMetricsRejectsBadInput(t *testing.T) {
	fn := func(context.Context, *herd.Work[int, int]) herd.Status { return herd.Success }
	if _, err := herd.New(fn, herd.WithMetrics(nil)); !errors.Is(err, herd.ErrInvalidArgument) {
		t.Fatalf("nil metrics: %v", err)
	}
	if _, err := herd.New(fn, herd.WithMetrics(&herd.Metrics{Busy: (*generic.Gauge)(nil)})); !errors.Is(err, herd.ErrInvalidArgument) {
		t.Fatalf("typed nil gauge: %v", err)
	}
}
