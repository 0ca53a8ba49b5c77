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
//	p.Put(c, err)           // kept, or closed if err is fatal for it
//
// Settings are functional options with exported defaults (pooly's where it
// has one): WithMaxConns (changeable later with SetMaxConns),
// WithIdleTimeout, WithMaxLifetime, WithWaitTimeout, WithConnRetries,
// WithTestOnBorrow, WithPrespawn, WithCloseDeadline. Close waits for
// borrowed connections up to the close deadline, ForceClose cuts the wait
// short, and Stats reports counts in the style of database/sql.
//
// # Service: many hosts
//
// A Service[C] owns one pool per host; hosts are added and removed at
// runtime. GetConn picks a host with any strategy.Strategy (round-robin by
// default, as pooly; bandits such as epsilon-greedy and softmax learn from
// the scores) and tries other hosts when one fails. Conn.Release(err, score)
// records the score (a fatal error counts as HostDown) and the time the
// connection was borrowed into the host's strategy.Stats. A caller's own
// cancellation is never held against a host.
//
// NewHTTPTransport turns a Service[net.Conn] into an *http.Transport whose
// connections come from the service.
//
// # Endpoints
//
// Factory adapts pools to lbkit's endpoint factory (go-kit's sd.Factory
// signature): every instance gets its own pool, every call borrows a
// connection, runs a Call over it and gives it back with the call's error,
// and removing the instance closes the pool. So a load balancer over a
// publisher has a pool under every endpoint.
//
// # Metrics and cost
//
// Metrics takes go-kit metrics (Prometheus, statsd, expvar, ...) for pooly's
// set: hosts.score, hosts.count, conns.count, conns.fails, conns.put.count,
// conns.get.count, conns.get.delay, conns.get.fails, conns.active.period.
// NewPrometheusMetrics registers all of them.
//
// Get and Put of an idle connection allocate nothing and take the pool's
// lock once each; GetConn reads the host set with one atomic load. See
// bench_test.go for measurements against github.com/jackc/puddle/v2.
package pooling
