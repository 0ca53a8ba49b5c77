// Package lease hands out leases per key, each key allowing at most its
// target number at once, with targets that change at runtime: a set of
// semaphores that can be resized, keyed by anything comparable (a host
// address, a tenant, a proxy).
//
// There are two ways to take leases. Acquire(ctx, key) waits, in line, for
// a lease of one key: use it to cap concurrency per key (the balancer's
// per-host bulkhead, loadbalancer.WithHostConcurrency, is built on it).
// Leases() is a channel that yields a lease of whichever key has room:
// range over it to keep, for every key, as many workers running as its
// target says, starting a worker per lease and releasing the lease when
// the worker ends.
//
// Lowering a target never takes a lease away; new leases of that key wait
// until enough have been released. Raising it grants waiting callers at
// once. With WithDefaultTarget, keys nobody Set share one target, and the
// pool remembers such a key only while it has leases or waiters, so an
// unbounded key space (every host ever seen) costs memory only for the
// keys in use.
package lease
