package stringsvc

import (
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// The client's retry settings, shared by both versions.
const (
	MaxAttempts = 3
	MaxTime     = time.Second
)

// The two functions below are one client of the string service's uppercase
// method, written twice. GoKitClient is go-kit v0.13.0's documented chain:
// an instancer, sd.NewEndpointer with a factory, lb.NewRoundRobin, lb.Retry.
// LBKitClient is the same client moved to lbkit by changing the constructor
// lines only: the instancer and the factory are the very same values, and
// the result is an endpoint.Endpoint used exactly as before. Diff them:
//
//	diff <(sed -n '/^func GoKitClient/,/^}/p' client.go) <(sed -n '/^func LBKitClient/,/^}/p' client.go)

// Client is one built client: the endpoint callers use, the balancer under
// it (for tests to see when discovery has arrived), and Stop, which
// releases what the client holds.
type Client struct {
	Uppercase endpoint.Endpoint
	Balancer  lb.Balancer
	Stop      func()
}

// GoKitClient builds the client as go-kit does.
func GoKitClient(instancer sd.Instancer, factory sd.Factory, logger log.Logger) (Client, error) {
	endpointer := sd.NewEndpointer(instancer, factory, logger)
	balancer := lb.NewRoundRobin(endpointer)
	uppercase := lb.Retry(MaxAttempts, MaxTime, balancer)
	return Client{uppercase, balancer, func() { endpointer.Close() }}, nil
}

// LBKitClient builds the same client on lbkit.
func LBKitClient(instancer sd.Instancer, factory sd.Factory, logger log.Logger) (Client, error) {
	pub, err := publisher.FromInstancer(instancer)
	if err != nil {
		return Client{}, err
	}
	balancer, err := loadbalancer.New(pub, factory, loadbalancer.WithStrategy(strategy.RoundRobin{}), loadbalancer.WithLogger(logger))
	if err != nil {
		pub.Stop()
		return Client{}, err
	}
	uppercase := retry.Retry(MaxAttempts, MaxTime, balancer)
	return Client{uppercase, balancer, func() { balancer.Close(); pub.Stop() }}, nil
}
