package retry

import "errors"

// ClosedError is the optional interface of an error with which a balancer
// says that it is closed for good, as lbkit's loadbalancer.ErrClosed does.
// When a balancer's Endpoint (or EndpointAvoiding) fails with an error
// that is, or wraps, a ClosedError whose Closed reports true, the call ends
// at once with that error, whatever the callback, classifier or timeout: a
// closed balancer will never have an endpoint again, where an empty one
// (ErrNoEndpoints) may get one from discovery, and is waited for. Only the
// balancer's errors are asked; an endpoint's error never ends a call this
// way. Like EndpointAvoider, it asks nothing of a balancer that lacks it.
type ClosedError interface {
	error
	// Closed reports whether the balancer that returned the error is
	// closed for good.
	Closed() bool
}

// balancerClosed reports whether err, a balancer's error, says that the
// balancer is closed.
func balancerClosed(err error) bool {
	c, ok := errors.AsType[ClosedError](err)
	return ok && c.Closed()
}
