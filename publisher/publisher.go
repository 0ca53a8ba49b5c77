package publisher

import "errors"

// ErrInvalidArgument is wrapped by every error this package returns for an
// argument it cannot use (an instance without an address, a nil or typed-nil
// Publisher or sd.Instancer). Each publisher package defines its own
// ErrInvalidArgument wrapping this one, so errors.Is matches either.
var ErrInvalidArgument = errors.New("publisher: invalid argument")

// Publisher is a source of instance sets for one logical service.
//
// Subscribe returns a subscription whose channel holds the current state at
// once (if the publisher has one yet) and every later state. A subscriber that
// reads slowly sees only the latest state, never a backlog, and never delays
// the publisher or any other subscriber.
//
// Stop ends the publisher: its goroutines exit, every subscription channel is
// closed, and Subscribe after Stop returns an already closed subscription.
// Stop is idempotent.
type Publisher interface {
	Subscribe() *Subscription
	Stop()
}
