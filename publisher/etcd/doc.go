// Package etcd is a Publisher over a key prefix in etcd v3, and a Registrar
// that keeps one instance's key alive under a lease.
//
// # Publisher
//
// The publisher reads the prefix once with Get, publishes every instance
// under it, then watches the prefix from the next revision and applies each
// change to its own copy: a change costs no re-read. When the watch channel
// closes, the watch is re-established from the last revision seen; when
// that revision has been compacted away, the publisher reads the prefix
// afresh and watches from there.
//
// A health probe (a count-only read, every DefaultHealthInterval) notices an
// unreachable or leaderless cluster, which a watch alone does not report:
// the publisher then publishes the error, subscribers keep the last known
// instances, and when the probe succeeds again the watch is re-established
// from the last revision seen, so the changes made during the outage arrive
// without a restart.
//
// A server can come back with an older or empty data directory (a restored
// backup, a lost disk): its revision goes backwards, or moves on along
// another history, and a watch resumed from the old revision would never
// see its keys. So the publisher reads the prefix again whenever the
// client's connection comes back after being lost (*clientv3.Client tells
// through its gRPC connection; with another Client, after every outage the
// probe saw), and whenever a probe or watch response shows a revision below
// the one already seen. The fresh read is compared with what the publisher
// knew: a lower revision, or a key modified at a revision the watch never
// saw, is a lost history, logged, counted in Stats.Resets and described in
// Stats.LastReset (wrapping ErrHistoryLost); either way the fresh read is
// published, so new keys appear and deleted ones go.
//
// # Values
//
// Each key under the prefix holds one instance, in one of two forms:
//
//   - plain: the address alone, "10.0.0.1:8080" or "[2001:db8::1]:8080", as
//     go-kit's sd/etcdv3 registrar writes it; a URL with a scheme and a host
//     ("http://10.0.0.1:8080") is accepted too. Surrounding white space is
//     ignored.
//   - JSON: an object whose first non-space character is "{":
//     {"address":"10.0.0.1:8080","weight":3,"priority":1,"metadata":{"zone":"eu-1"}}
//     Only "address" is required; unknown fields are ignored so that writers
//     may add some.
//
// EncodeValue writes the plain form when weight, priority and metadata are
// all unset, and JSON otherwise. A value that is neither form, or whose
// address, weight (0 to MaxWeight) or priority (0 to MaxPriority) is out of
// range, is skipped and logged; the key is then treated as absent. When two
// keys hold the same address, the one that sorts first wins. Each event's
// Invalid (see publisher.Event) describes the values skipped and the
// duplicate addresses left out; Stats counts them (Malformed, Invalid).
//
// # Registrar
//
// The registrar grants a lease, puts its key under it, and keeps the lease
// alive, draining the keep-alive channel. When the lease is lost (the
// cluster was unreachable for longer than the TTL, or someone revoked the
// lease) it grants a new lease and puts the key again, retrying with
// jittered exponential back-off. Stop deletes the key and revokes the
// lease.
//
// When etcd restarts on its data it restores every lease with a fresh TTL,
// so a registrar must be back within one TTL of the restart, or its key
// expires and its instance leaves every balancer. With a *clientv3.Client
// (any settings, gRPC's default reconnect back-off included) this holds for
// every TTL the registrar accepts: while the connection is down the
// registrar has the client try the server every RedialInterval (every
// quarter TTL under 2s) instead of at gRPC's growing back-off, and when the
// connection is back it registers again at once instead of at the end of
// its own back-off. The publisher does the same, and reads the prefix again
// on every reconnection (see above). With a RegistrarClient that is not a
// *clientv3.Client, recovery follows its own reconnection and the back-off
// set by WithBackoff: keep the TTL well above both. Errors go to the caller: Register and Deregister return them, and
// the background ones (and a failed deregistration on Stop) go to the
// logger, the handler set with WithErrorHandler and Stats.
//
// # Options and errors
//
// Option configures a Publisher, RegistrarOption a Registrar, and the
// options that apply to both (WithLogger, WithRequestTimeout, WithBackoff)
// return a CommonOption that is either; an option of the wrong kind does
// not compile. Every invalid argument is an error wrapping
// ErrInvalidArgument, which wraps publisher.ErrInvalidArgument.
//
// # Connection, TLS and authentication
//
// Both types take the client as a parameter; *clientv3.Client satisfies
// Client and RegistrarClient. TLS, user name and password are set where
// etcd's client takes them, in clientv3.Config (TLS, Username, Password).
// The caller owns the client and closes it after the publisher or
// registrar.
package etcd
