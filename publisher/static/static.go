package static

import (
	"errors"
	"fmt"

	"github.com/seed41aebe0c/lbkit/publisher"
)

// ErrInvalidArgument is wrapped by every error New, NewAddresses, Replace
// and Fail return for an argument they cannot use. It wraps
// publisher.ErrInvalidArgument, so errors.Is matches either.
var ErrInvalidArgument = fmt.Errorf("static: %w", publisher.ErrInvalidArgument)

// ErrStopped is returned by Replace and Fail after Stop.
var ErrStopped = errors.New("static: publisher stopped")

// Publisher publishes a list of instances that changes only when Replace or
// Fail is called. It starts no goroutines. The zero value is not usable; use
// New or NewAddresses.
type Publisher struct {
	fan publisher.Fanout
}

var _ publisher.Publisher = (*Publisher)(nil)

// New returns a publisher of the given instances. An empty list is allowed
// (a balancer over it returns ErrNoEndpoints until Replace adds instances);
// an invalid instance (empty address, negative weight) or a duplicate address
// is an error.
func New(instances ...publisher.Instance) (*Publisher, error) {
	if err := check(instances); err != nil {
		return nil, err
	}
	p := &Publisher{}
	p.fan.Publish(publisher.Event{Instances: instances})
	return p, nil
}

// NewAddresses returns a publisher of instances with the given addresses and
// default weight and priority.
func NewAddresses(addresses ...string) (*Publisher, error) {
	return New(publisher.FromAddresses(addresses...)...)
}

// Replace makes instances the published set. It validates like New and
// returns ErrStopped after Stop.
func (p *Publisher) Replace(instances ...publisher.Instance) error {
	if err := check(instances); err != nil {
		return err
	}
	if p.stopped() {
		return ErrStopped
	}
	p.fan.Publish(publisher.Event{Instances: instances})
	return nil
}

// Fail publishes a discovery error, as a real discovery backend would when it
// becomes unreachable. Subscribers keep the last known instances unless they
// chose to invalidate them. A later Replace clears the error.
func (p *Publisher) Fail(err error) error {
	if err == nil {
		return fmt.Errorf("%w: Fail needs a non-nil error", ErrInvalidArgument)
	}
	if p.stopped() {
		return ErrStopped
	}
	p.fan.Publish(publisher.Event{Err: err})
	return nil
}

// Instances returns the currently published instances.
func (p *Publisher) Instances() []publisher.Instance {
	ev, _ := p.fan.Current()
	return ev.Instances
}

// SetMetrics records every later update into m (see publisher.Metrics).
func (p *Publisher) SetMetrics(m *publisher.Metrics) { p.fan.SetMetrics(m) }

// Subscribe implements publisher.Publisher.
func (p *Publisher) Subscribe() *publisher.Subscription { return p.fan.Subscribe() }

// Stop implements publisher.Publisher. It closes every subscription.
func (p *Publisher) Stop() { p.fan.Close() }

func (p *Publisher) stopped() bool { return p.fan.Closed() }

// check refuses a list with any instance publisher.ValidateAll would drop:
// a static list is the caller's own, so a mistake in it is an error at
// once rather than a dropped instance.
func check(instances []publisher.Instance) error {
	if _, err := publisher.ValidateAll(instances); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	return nil
}
