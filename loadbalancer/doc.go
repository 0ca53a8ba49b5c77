// Package loadbalancer joins discovery, the endpoint cache and a strategy
// into a Balancer: a go-kit lb.Balancer whose Endpoint picks one live
// instance per request, and whose endpoints record every call's outcome
// (latency, error) into the chosen instance's statistics, so that learning
// strategies see how each backend is doing.
//
// The per-request path (Endpoint, the strategy's pick, the outcome record)
// takes no lock shared by all requests and allocates nothing: each discovery
// update builds an immutable state (entries plus a strategy picker) that
// Endpoint reads with one atomic load.
package loadbalancer
