package otelretry

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/retry"
)

// ScopeName is the instrumentation scope of the tracer New takes from the
// provider.
const ScopeName = "github.com/seed41aebe0c/lbkit/retry/otelretry"

// Default span names.
const (
	DefaultCallSpanName    = "retry.call"
	DefaultAttemptSpanName = "retry.attempt"
)

// Attribute keys of the spans.
const (
	AttemptKey   = attribute.Key("lbkit.retry.attempt")
	AttemptsKey  = attribute.Key("lbkit.retry.attempts")
	HedgeKey     = attribute.Key("lbkit.retry.hedge")
	HostKey      = attribute.Key("lbkit.retry.host")
	NextKey      = attribute.Key("lbkit.retry.next")
	BackoffKey   = attribute.Key("lbkit.retry.backoff_seconds")
	BudgetKey    = attribute.Key("lbkit.retry.budget")
	StopKey      = attribute.Key("lbkit.retry.stop_reason")
	BalancerKey  = attribute.Key("lbkit.balancer")
	maxStopChars = 256
)

// ErrInvalidArgument is wrapped by every error New returns for a bad
// argument.
var ErrInvalidArgument = errors.New("otelretry: invalid argument")

// Option configures New.
type Option func(*config) error

type config struct {
	call, attempt string
	attrs         []attribute.KeyValue
}

// WithSpanNames sets the names of the call span and the attempt spans.
func WithSpanNames(call, attempt string) Option {
	return func(c *config) error {
		if call == "" || attempt == "" {
			return fmt.Errorf("%w: empty span name", ErrInvalidArgument)
		}
		c.call, c.attempt = call, attempt
		return nil
	}
}

// WithBalancerName adds the attribute lbkit.balancer=name to every call
// span, to tell the retriers of one process apart.
func WithBalancerName(name string) Option {
	return func(c *config) error {
		if name == "" {
			return fmt.Errorf("%w: empty balancer name", ErrInvalidArgument)
		}
		c.attrs = append(c.attrs, BalancerKey.String(name))
		return nil
	}
}

// New returns a retry.Tracer that starts its spans with a tracer of tp. A
// nil tp or a bad option is an error wrapping ErrInvalidArgument.
func New(tp trace.TracerProvider, opts ...Option) (retry.Tracer, error) {
	if nilarg.IsNil(tp) {
		return nil, fmt.Errorf("%w: nil tracer provider", ErrInvalidArgument)
	}
	cfg := config{call: DefaultCallSpanName, attempt: DefaultAttemptSpanName}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidArgument)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	return &tracer{t: tp.Tracer(ScopeName), cfg: cfg}, nil
}

type tracer struct {
	t   trace.Tracer
	cfg config
}

// StartCall starts the call's span.
func (t *tracer) StartCall(ctx context.Context) (context.Context, retry.CallTrace) {
	ctx, span := t.t.Start(ctx, t.cfg.call, trace.WithAttributes(t.cfg.attrs...))
	return ctx, &call{t: t, span: span}
}

type call struct {
	t    *tracer
	span trace.Span
}

// StartAttempt starts an attempt's span under the call's.
func (c *call) StartAttempt(ctx context.Context, n int, hedge bool) (context.Context, retry.AttemptTrace) {
	ctx, span := c.t.t.Start(ctx, c.t.cfg.attempt, trace.WithAttributes(AttemptKey.Int(n), HedgeKey.Bool(hedge)))
	return ctx, attempt{span}
}

// End ends the call's span.
func (c *call) End(err error, attempts int) {
	c.span.SetAttributes(AttemptsKey.Int(attempts))
	if err != nil {
		c.span.RecordError(err)
		c.span.SetStatus(codes.Error, clip(err.Error()))
	}
	c.span.End()
}

type attempt struct{ span trace.Span }

// End ends the attempt's span with what followed it.
func (a attempt) End(e retry.AttemptEnd) {
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs, NextKey.String(e.Next.String()))
	if e.Host != "" {
		attrs = append(attrs, HostKey.String(e.Host))
	}
	if e.Budget != retry.BudgetNotAsked {
		attrs = append(attrs, BudgetKey.String(e.Budget.String()))
	}
	switch e.Next {
	case retry.NextRetry:
		attrs = append(attrs, BackoffKey.Float64(e.Backoff.Seconds()))
	case retry.NextStop:
		if e.Stop != nil {
			attrs = append(attrs, StopKey.String(clip(e.Stop.Error())))
		}
	}
	a.span.SetAttributes(attrs...)
	if e.Err != nil && e.Next != retry.NextAbandoned {
		a.span.RecordError(e.Err)
		a.span.SetStatus(codes.Error, clip(e.Err.Error()))
	}
	a.span.End()
}

// clip bounds an error text put on a span.
func clip(s string) string {
	if len(s) <= maxStopChars {
		return s
	}
	return s[:maxStopChars] + "…"
}
