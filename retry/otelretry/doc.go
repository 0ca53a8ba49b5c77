// Package otelretry traces a retry.Retrier with OpenTelemetry: one span
// per call and, under it, one child span per attempt, whose context is the
// one the attempt's endpoint gets, so that a go-kit transport with
// OpenTelemetry instrumentation puts its client span (and the propagated
// trace headers) under the attempt that made it.
//
// Wire it with retry.WithTracer:
//
//	tracer, err := otelretry.New(otel.GetTracerProvider())
//	r, err := retry.New(balancer, retry.WithTracer(tracer))
//
// The call span ("retry.call" unless WithSpanNames says otherwise) carries
// the number of attempts and the call's error. Each attempt span
// ("retry.attempt") carries:
//
//	lbkit.retry.attempt          attempt number, from 1
//	lbkit.retry.hedge            whether it was started as a hedge
//	lbkit.retry.host             the instance tried (when the balancer says)
//	lbkit.retry.next             what followed: done, retry, wait, stop, abandoned
//	lbkit.retry.backoff_seconds  the wait before the retry (next = retry)
//	lbkit.retry.budget           the retry budget's answer: granted, denied, not asked
//	lbkit.retry.stop_reason      the error that ended the call (next = stop)
//
// A failed attempt's span records its error and has status Error; an
// abandoned hedge (another attempt won) has status Unset.
//
// The package is separate from retry so that a program that does not trace
// does not build OpenTelemetry.
package otelretry
