// Package limit caps how much work runs at once per key, with caps that
// change at runtime: a Limiter is a set of resizable semaphores keyed by
// anything comparable (a host address, a tenant, a proxy). Each key has a
// target; a Lease is the right to one unit of it.
//
// The package sits below loadbalancer and imports only the standard
// library: the balancer's per-host bulkhead (loadbalancer.WithHostConcurrency
// and WithBulkhead) is a Limiter keyed by instance address. Use one directly
// to cap anything else per key, or to keep a number of workers per key
// running.
//
// There are two ways to take leases. Acquire(ctx, key) waits, in line, for
// a lease of one key (TryAcquire does not wait): use it to cap concurrency
// per key. Leases() is a channel that yields a lease of whichever key has
// room: range over it to keep, for every key, as many workers running as
// its target says, starting a worker per lease and releasing the lease when
// the worker ends.
//
// Lowering a target never takes a lease away; new leases of that key wait
// until enough have been released. Raising it grants waiting callers at
// once. With WithDefaultTarget, keys nobody Set share one target, and the
// limiter remembers such a key only while it has leases or waiters, so an
// unbounded key space (every host ever seen) costs memory only for the
// keys in use.
//
// A Limiter starts a goroutine only when Leases is first called; Close
// (or, with WithContext, the end of a context, as workpool's NewPool(ctx))
// ends it, fails waiting callers with ErrClosed and is safe to call more than
// once. Invalid arguments give errors wrapping ErrInvalidArgument.
package limit
