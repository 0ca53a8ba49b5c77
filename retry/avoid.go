package retry

import (
	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd/lb"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
)

// EndpointAvoider is the one optional interface a balancer may implement
// beyond go-kit's lb.Balancer: it steers a retry away from the hosts a
// call has already tried. lbkit's loadbalancer.Balancer implements it.
// With one, every retry (and hedge) goes to a host not in tried whenever
// the balancer has such a host, and each Attempt records its host. Any
// go-kit lb.Balancer still works without it, with neither guarantee.
//
// The balancer times and records its own calls; the retry never hands it
// clock readings, so the two share nothing but this method.
type EndpointAvoider interface {
	// EndpointAvoiding returns an endpoint, preferably of an instance whose
	// address is not in tried, and that instance's address. It must not
	// keep or modify tried.
	EndpointAvoiding(tried []string) (endpoint.Endpoint, string, error)
}

// picker chooses the endpoint for each attempt.
type picker struct {
	b  lb.Balancer
	av EndpointAvoider // nil: use b.Endpoint
}

func newPicker(b lb.Balancer, avoid bool) picker {
	if nilarg.IsNil(b) {
		return picker{}
	}
	p := picker{b: b}
	if avoid {
		p.av, _ = b.(EndpointAvoider)
	}
	return p
}

func (p picker) pick(tried []string) (endpoint.Endpoint, string, error) {
	var (
		ep   endpoint.Endpoint
		host string
		err  error
	)
	if p.av != nil {
		ep, host, err = p.av.EndpointAvoiding(tried)
	} else {
		ep, err = p.b.Endpoint()
	}
	if err == nil && ep == nil {
		err = ErrNilEndpoint
	}
	return ep, host, err
}
