// Package retry turns a load balancer into one endpoint that retries failed
// calls on other instances.
//
// Retry and RetryWithCallback are drop-in replacements for go-kit's lb.Retry
// and lb.RetryWithCallback, on any go-kit lb.Balancer: same parameters, same
// Callback type, same decisions, but attempts run inline (no goroutine and,
// usually, no timer per call, which makes the success path several times
// cheaper), the error after the last attempt keeps every attempt's error
// even when the timeout ended the call, and ErrNoEndpoints is retried after
// a short wait rather than in a spin. See Retry for the full list.
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
//     metrics, and Metrics (Prometheus or statsd) sampled off the request
//     path.
//
// With a balancer that also implements TimedAvoider (lbkit's does), the
// inline loop hands the balancer its own clock readings, so each attempt is
// timed once for both the retry's records and the balancer's statistics.
//
// Every failure is an *Error that lists each attempt (host, error,
// duration) and works with errors.Is and errors.As, including errors.As
// into go-kit's lb.RetryError.
package retry
