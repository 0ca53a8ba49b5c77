// Package retry turns a load balancer into one endpoint that retries failed
// calls on other instances.
//
// Retry and RetryWithCallback are drop-in replacements for go-kit's lb.Retry
// and lb.RetryWithCallback, on any go-kit lb.Balancer: same parameters, same
// Callback type, same decisions (no attempt starts on a done context; a
// success after the timeout is the deadline error; errors.Is(err,
// context.DeadlineExceeded) reports the timeout), but attempts run inline
// (no goroutine or channel per attempt, which makes each attempt several
// times cheaper), the error after the last attempt keeps the attempts'
// errors even when the timeout ended the call (the first and last few of a
// long call: MaxErrorAttempts), ErrNoEndpoints is retried after a short
// wait rather than in a spin, attempts beyond the first few retries are
// paced so that hosts that all fail at once are not hammered, and a closed
// balancer (ClosedError) ends the call at once. See Retry for the full
// list.
//
// New builds a Retrier for production use, where retries must heal rather
// than multiply an outage:
//
//   - a maximum of attempts, a timeout per call and per attempt;
//   - capped exponential back-off with full jitter between attempts;
//   - a classifier of retryable errors; endpoints mark hopeless errors with
//     Permanent;
//   - a retry Budget shared by all calls, so that retries add at most a
//     fraction of the recent requests and fail fast with
//     ErrBudgetExhausted beyond it;
//   - with a balancer that implements EndpointAvoider (lbkit's
//     loadbalancer.Balancer does), each retry goes to a host the call has
//     not tried yet, when there is one;
//   - hedging for idempotent calls: a second attempt on another host after
//     a fixed delay or a tracked latency percentile, first success wins,
//     with a cap on the extra load;
//   - a go-kit Callback and an observer of every Attempt for logs and
//     metrics, and Metrics (go-kit interfaces; package lbmetrics builds
//     them for Prometheus or statsd): a request-duration histogram and
//     counters of retries, budget exhaustion and hedges;
//   - a Tracer hook, one trace per call and per attempt, whose context
//     reaches the endpoint; retry/otelretry implements it with
//     OpenTelemetry.
//
// The retry talks to a balancer through go-kit's lb.Balancer and the one
// optional EndpointAvoider, nothing else but one optional interface of the
// balancer's errors, ClosedError: a balancer times and records its own
// calls, and the retry reads the clock once per call and once per
// failed attempt, for Attempt.Duration (and, with a RequestDuration
// histogram, once more at the end of a call). Deadlines are the standard
// library's (context.WithDeadline).
//
// Conventions: every invalid argument (a bad option or budget setting, a
// nil or typed-nil balancer) is an error wrapping ErrInvalidArgument; a
// Retrier, whose hedged attempts run in goroutines, has an
// idempotent Close. Back-off delays and sleeps come from lbkit's one
// back-off implementation (full jitter, capped exponential).
//
// Every failure is an *Error that lists each attempt (host, error,
// duration), at most MaxErrorAttempts of them with a count of all, and
// works with errors.Is and errors.As, including errors.As into go-kit's
// lb.RetryError.
package retry
