package retry

import (
	"context"
	"reflect"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd/lb"
)

// EndpointAvoider is a balancer that can steer a retry away from the hosts
// a request has already tried. lbkit's loadbalancer.Balancer implements it.
// With one, every retry (and hedge) goes to a host not in tried whenever
// the balancer has such a host, and each Attempt records its host. Any
// go-kit lb.Balancer still works without it, with neither guarantee.
type EndpointAvoider interface {
	// EndpointAvoiding returns an endpoint, preferably of an instance whose
	// address is not in tried, and that instance's address. It must not
	// keep or modify tried.
	EndpointAvoiding(tried []string) (endpoint.Endpoint, string, error)
}

// TimedCaller is an endpoint that takes the time its call starts and returns
// the time it ended, on the clock its balancer's ClockEpoch names.
// loadbalancer.TimedCaller is the same type.
type TimedCaller = interface {
	CallAt(ctx context.Context, req any, start int64) (resp any, end int64, err error)
}

// TimedAvoider is an EndpointAvoider whose endpoints also take the retry's
// own clock readings, so that an attempt is timed once, by the retry, and
// not again by the balancer. lbkit's loadbalancer.Balancer implements it:
// with it an extra attempt costs two clock reads fewer.
type TimedAvoider interface {
	EndpointAvoider
	// ClockEpoch returns the epoch of the balancer's monotonic clock, and
	// whether TimedEndpointAvoiding may be used.
	ClockEpoch() (time.Time, bool)
	// TimedEndpointAvoiding is EndpointAvoiding returning a TimedCaller.
	TimedEndpointAvoiding(tried []string) (TimedCaller, string, error)
}

// picker chooses the endpoint for each attempt.
type picker struct {
	b     lb.Balancer
	av    EndpointAvoider // nil: use b.Endpoint
	tav   TimedAvoider    // nil: time attempts with our own clock
	shift int64           // the balancer's clock minus ours
}

func newPicker(b lb.Balancer, avoid bool) picker {
	if isNil(b) {
		b = nil
	}
	p := picker{b: b}
	if avoid {
		p.av, _ = b.(EndpointAvoider)
		if tav, ok := b.(TimedAvoider); ok {
			if bEpoch, ok := tav.ClockEpoch(); ok {
				// Both clocks count monotonic time from their epochs, so
				// they differ by the constant epoch - bEpoch.
				p.tav, p.shift = tav, int64(epoch.Sub(bEpoch))
			}
		}
	}
	return p
}

// pickTimed is pick for the inline retry loop: with a TimedAvoider it
// returns a TimedCaller instead of an endpoint.
func (p picker) pickTimed(tried []string) (endpoint.Endpoint, TimedCaller, string, error) {
	if p.tav == nil {
		ep, host, err := p.pick(tried)
		return ep, nil, host, err
	}
	tc, host, err := p.tav.TimedEndpointAvoiding(tried)
	if err == nil && tc == nil {
		err = ErrNilEndpoint
	}
	return nil, tc, host, err
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

// isNil reports whether b is nil or holds a nil pointer or func, such as a
// *loadbalancer.Balancer never assigned: calling it would panic at request
// time. It runs once per constructor, never per request.
func isNil(b lb.Balancer) bool {
	if b == nil {
		return true
	}
	switch v := reflect.ValueOf(b); v.Kind() {
	case reflect.Pointer, reflect.Func:
		return v.IsNil()
	}
	return false
}
