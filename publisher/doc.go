// Package publisher is the discovery side of lbkit: it defines what an
// instance of a remote service is, the events a discovery system emits, and
// the Publisher interface every discovery backend implements.
//
// A Publisher pushes complete instance sets, never deltas, so a consumer
// can always start from the latest event alone. Fanout is the fan-out that
// every publisher is built on: a new subscriber receives the current state
// at once, and a slow subscriber only ever misses intermediate states (the
// latest state wins), so it can never block the publisher or another
// subscriber.
//
// Every instance on every path in is validated by ValidateAll, which
// Fanout.Publish runs: an instance with an empty address or a negative
// weight, and a second instance with an address already seen, are left
// out, logged (Fanout.SetLogger, or each publisher's WithLogger), counted
// (Fanout.Dropped, Metrics.Invalid) and described in the event's Invalid
// error; the valid instances go through.
//
// FromInstancer and ToInstancer adapt in both directions between Publisher
// and go-kit's sd.Instancer, so any go-kit discovery (ZooKeeper, Eureka, a
// user's own) feeds lbkit, and lbkit's publishers feed go-kit's sd package.
//
// Every invalid argument is an error wrapping ErrInvalidArgument, here and
// in the publisher packages (whose own ErrInvalidArgument wraps this one).
package publisher
