package publisher

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
