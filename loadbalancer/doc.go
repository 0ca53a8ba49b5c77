// Package loadbalancer joins discovery, a private endpoint cache and a
// strategy's host set into a Balancer: a go-kit lb.Balancer whose Endpoint
// picks one live instance per request, and whose endpoints record every
// call's outcome (latency, error) into the chosen instance's statistics, so
// that learning strategies see how each backend is doing.
//
// One request through lbkit touches these files: retry/retrier.go (the
// retry loop), loadbalancer/balancer.go (Endpoint, EndpointAvoiding and the
// recording endpoint), strategy/hostset.go (the pick that skips hosts
// already tried), strategy/peakewma.go (the default strategy),
// strategy/host.go (Begin and Record) and, with pooling.Factory under the
// endpoints, pooling/pool_get.go.
//
// New(publisher, factory, options) is the one constructor; its Factory is
// go-kit's sd.Factory. The default strategy is strategy.PeakEWMA{};
// WithStrategy(strategy.RoundRobin{}) and WithStrategy(strategy.Random{})
// are go-kit's lb.NewRoundRobin and lb.NewRandom. Under any strategy,
// WithHostOptions(strategy.WithOutlierEjection(...), strategy.WithSlowStart(...))
// ejects failing instances for a while (capped at a share of them, with
// Envoy's panic threshold) and ramps new and returning ones up; Status.Health
// and Metrics.Ejections / Ejected report it.
//
// The per-request path (Endpoint, the strategy's pick, the outcome record)
// takes no lock shared by all requests and allocates nothing: each discovery
// update builds an immutable host set that Endpoint reads with one atomic
// load. The factory runs only for new instances, on the discovery
// goroutine; closers of removed instances run on a goroutine of their own,
// exactly once each, so a slow closer never delays the next update. A
// factory call that fails (an error, a nil endpoint, a panic) is logged,
// counted (Status.FactoryErrors, Metrics.FactoryErrors), listed in
// Status.FactoryFailures and tried again, on the next update and on a
// back-off of its own (FactoryRetryMin), since discovery may never publish
// again; when no instance is usable, Endpoint's error says how many are
// known and why.
// While discovery fails, the first error of the spell is the one reported,
// as in go-kit; a closed balancer's ErrClosed tells package retry to stop
// at once (retry.ClosedError). Every invalid argument is an error wrapping
// ErrInvalidArgument.
package loadbalancer
