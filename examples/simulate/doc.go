// Command simulate is lbkit's Monte Carlo simulator. It runs every strategy
// through scripted situations (a backend that fails half its calls, one that
// is ten times slower, one that turns bad and recovers, one that flaps, fails
// fast, or joins and leaves; 1,000 backends behind one balancer or behind
// a balancer per client) and prints, per strategy, the success before and
// after go-kit-style retries, latency percentiles, attempts per request and
// regret against an oracle that knows the backends' true state; it draws a
// chart per scenario.
//
// Time is simulated by a discrete-event loop: nothing sleeps, and a run is
// deterministic for a given seed. The strategies and the per-backend
// statistics are lbkit's real ones, read through the simulated clock; the
// baselines are go-kit's own round-robin and random balancers.
//
//	go run ./examples/simulate [-scale 1] [-seed 1] [-seeds 1] [-scenario regexp] [-strategy regexp] [-svg dir]
//
// -seeds N runs everything over N seeds from -seed and prints each figure as
// the median [min–max]; publish only such figures.
//
// The same runs are a Go test behind a build tag, which also checks lbkit's
// targets:
//
//	go test -tags montecarlo_simulation -run MonteCarlo -v ./examples/simulate
package main
