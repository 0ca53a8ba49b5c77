// Package backoff is lbkit's one implementation of waiting before trying
// again: capped exponential delays with jitter, and a sleep that ends early
// when its context does. Discovery loops (Consul, etcd), registrars, the
// connection pool's dial retries and the retry package all wait through it,
// so that the rule "never spin, never sleep past the caller's context" has
// one owner.
//
// It is internal: users configure back-off through the options of the
// package that waits, never through this package.
package backoff
