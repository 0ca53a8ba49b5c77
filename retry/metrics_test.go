package retry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/metrics/generic"

	"github.com/seed41aebe0c/lbkit/retry"
)

func TestMetrics(t *testing.T) {
	m := &retry.Metrics{
		RequestDuration: generic.NewHistogram("duration", 10),
		Retries:         generic.NewCounter("retries"),
		BudgetExhausted: generic.NewCounter("budget"),
		Hedges:          generic.NewCounter("hedges"),
		HedgeWins:       generic.NewCounter("wins"),
		HedgesCapped:    generic.NewCounter("capped"),
	}
	// Every call fails once, then succeeds: one retry per call.
	calls := 0
	ep := func(context.Context, any) (any, error) {
		calls++
		if calls%2 == 1 {
			return nil, errors.New("first attempt fails")
		}
		return "ok", nil
	}
	r, err := retry.New(fixed(endpoint.Endpoint(ep)), retry.WithoutBackoff(), retry.WithoutBudget(), retry.WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for range 10 {
		if _, err := r.Endpoint()(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Recorded as it happens: no interval, nothing to flush.
	if got := m.Retries.(*generic.Counter).Value(); got != 10 {
		t.Errorf("retries %v, want 10", got)
	}
	if got := m.BudgetExhausted.(*generic.Counter).Value(); got != 0 {
		t.Errorf("budget exhausted %v, want 0", got)
	}
	h := m.RequestDuration.(*generic.Histogram)
	if q := h.Quantile(0.5); !(q > 0 && q < 10) {
		t.Errorf("median request duration %v s, want a small positive number", q)
	}
	if st := r.Stats(); st.Retries != 10 || st.Calls != 10 {
		t.Errorf("Stats %+v, want 10 calls and 10 retries", st)
	}
}

// The budget-exhausted counter moves when the budget refuses a retry.
func TestMetricsBudgetExhausted(t *testing.T) {
	m := &retry.Metrics{BudgetExhausted: generic.NewCounter("budget")}
	fail := func(context.Context, any) (any, error) { return nil, errors.New("down") }
	budget, err := retry.NewBudget(0.01, 0, retry.DefaultBudgetWindow)
	if err != nil {
		t.Fatal(err)
	}
	r, err := retry.New(fixed(fail), retry.WithoutBackoff(), retry.WithBudget(budget), retry.WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for range 5 {
		if _, err := r.Endpoint()(context.Background(), nil); err == nil {
			t.Fatal("a failing endpoint succeeded")
		}
	}
	if got, want := m.BudgetExhausted.(*generic.Counter).Value(), float64(r.Stats().BudgetExhausted); got != want || got == 0 {
		t.Fatalf("budget exhausted metric %v, Stats %v; want equal and positive", got, want)
	}
}

func TestWithMetricsRejectsBadInput(t *testing.T) {
	ok := func(context.Context, any) (any, error) { return "ok", nil }
	if _, err := retry.New(fixed(ok), retry.WithMetrics(nil)); !errors.Is(err, retry.ErrInvalidArgument) {
		t.Fatalf("nil metrics: %v", err)
	}
	if _, err := retry.New(fixed(ok), retry.WithMetrics(&retry.Metrics{Retries: (*generic.Counter)(nil)})); !errors.Is(err, retry.ErrInvalidArgument) {
		t.Fatalf("typed nil counter: %v", err)
	}
}
