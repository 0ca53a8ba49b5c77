// Package pooling keeps pools of connections under the hosts of a service,
// and feeds how each connection fared back into the host's score, so that a
// strategy that learns steers away from failing hosts (the capabilities of
// pooly, typed with generics and driven by contexts).
//
// # Pool: one host
//
// A Pool[C] lends connections of type C to one address. A Driver[C] dials,
// closes and tests them and says which errors leave a connection usable;
// NetDriver is the Driver for net.Conn over TCP or Unix sockets, with dial,
// read and write timeouts, and DriverFuncs builds one from functions.
//
//	p, err := pooling.NewPool[net.Conn]("10.0.0.7:6379", driver, pooling.WithMaxConns(16))
//	c, err := p.Get(ctx)    // idle, new, or waited for
//	...use c.Value()...
//	p.Put(c, err)           // kept, or closed if p.Fatal(err)
//
// Settings are PoolOptions with exported defaults (pooly's where it has
// one): WithMaxConns (changeable later with SetMaxConns), WithIdleTimeout,
// WithMaxLifetime, WithWaitTimeout, WithConnRetries, WithTestOnBorrow,
// WithPrespawn, WithCloseDeadline, WithMetrics. Close waits for borrowed
// connections up to the close deadline, ForceClose cuts the wait short, and
// Stats reports counts in the style of database/sql.
//
// The test on borrow is on by default but, as in HikariCP, skipped for a
// connection lent within the last DefaultTestOnBorrowAfter (500 ms): it was
// working a moment ago, and NetDriver's test is a system call that would
// cost many times the pool itself on every Get. An idle connection left
// unborrowed for longer is tested, and replaced if its peer closed it. The
// window is counted by a timer that runs while connections are lent, so
// that a Get reads no clock.
//
// # Service: many hosts
//
// A Service[C] owns one pool per host; hosts are added and removed at
// runtime. Its hosts are a strategy.HostSet, lbkit's one host-set core, the
// same the load balancer picks endpoints on: GetConn picks a host with any
// strategy.Strategy (strategy.RoundRobin{} by default, as pooly; bandits
// such as strategy.EpsilonGreedy{} and strategy.Softmax{} learn from the
// scores, with Bandit.Transform as pooly's score calculator) and tries
// hosts not yet tried when one fails. Conn.Release(err, score) records the
// score (a fatal error counts as strategy.HostDown) and the time the
// connection was borrowed into the host's strategy.Host. A failure while
// the context given to GetConn is cancelled is never held against a host.
//
// Options that only a Service understands are ServiceOptions: WithStrategy,
// WithGetAttempts, WithHostOptions (strategy's host options: decay windows,
// the Scorer of failed gets) and WithMetricsInterval. Every PoolOption is
// also a ServiceOption; a service-only option given to NewPool or Factory
// does not compile. Status reports every host as a HostStatus: its
// strategy.HostStats and its pool's Stats.
//
// NewHTTPTransport turns a Service[net.Conn] into an *http.Transport whose
// connections come from the service (a host picked per connection);
// RequestTransport picks a host per request and sends it over one of that
// host's kept-alive connections.
//
// # Endpoints
//
// Factory returns a go-kit sd.Factory: every instance gets its own pool,
// every call borrows a connection, runs a Call over it and gives it back
// with the call's error, and removing the instance closes the pool. So a
// load balancer (or any go-kit sd.Endpointer) over a publisher has a pool
// under every endpoint.
//
// HTTPFactory does the same for HTTP clients such as go-kit's
// httptransport.NewClient: every instance gets a pool, an http.Transport
// that borrows its connections from it, and an *http.Client over that
// transport, from which an HTTPEndpoint builds the instance's endpoint.
//
// Both factories' closers return at once: idle connections (the
// transport's too) are closed at once, a connection carrying a call in
// flight when that call ends, so an instance that leaves never holds up a
// balancer. Pool.Close, for a pool of one's own, waits for borrowed
// connections up to the close deadline instead.
//
// # Conventions
//
// Every invalid argument, typed nils included, is an error wrapping
// ErrInvalidArgument. Pool and Service own goroutines and have an
// idempotent Close. Nothing here logs.
//
// # Metrics and cost
//
// Metrics takes go-kit metrics (Prometheus, statsd, expvar, ...) for pooly's
// set: hosts.score, hosts.count, conns.count, conns.fails, conns.put.count,
// conns.get.count, conns.get.delay, conns.get.fails, conns.active.period.
// Package lbmetrics builds all of them for Prometheus or statsd; a Pool
// binds its own to its address (label "host").
//
// Get and Put of an idle connection allocate nothing and, in the common case,
// take no lock: Put parks the connection in a small lane of cache-line-sized
// atomic slots in front of the pool's locked idle stack and Get takes it from
// there, so goroutines on different CPUs do not contend. Waits, dials,
// expiry, tests on borrow, fatal errors and Close go the locked way. GetConn
// reads the host set with one atomic load. See
// bench_test.go for measurements against github.com/jackc/puddle/v2.
package pooling
