// Package consul discovers the instances of a service from Consul's health
// endpoint and registers instances with a Consul agent.
//
// A Publisher runs one blocking query at a time against
// /v1/health/service/NAME and publishes the complete instance set whenever
// it changes. It is built for the failures real clusters produce:
//
//   - Only instances whose checks all pass are published by default (Consul
//     filters on the server); IncludeWarning adds those in warning state, as
//     Consul's DNS interface does.
//   - Several tags (all must match), a filter expression, datacenter,
//     namespace and partition are sent to Consul, so filtering happens on
//     the server. The ACL token, TLS and address come from the api.Config or
//     *api.Client the caller builds.
//   - The service weight (Weights.Passing, or Weights.Warning for an
//     instance in warning) becomes Instance.Weight; a warning instance whose
//     warning weight is 0 gets no traffic. The service address falls back to
//     the node address, and IPv6 addresses are written "[addr]:port".
//   - The wait index follows Consul's advice for blocking queries: an index
//     that goes backwards restarts the loop from 0, a zero index becomes 1
//     so the next query blocks, and a token bucket limits how fast the loop
//     may spin when results churn.
//   - While Consul is unreachable the publisher retries with jittered
//     exponential back-off, publishes the error (subscribers keep the last
//     known instances), and recovers by itself when Consul returns. For a
//     grace after it returns or its index goes backwards
//     (WithRecoveryGrace, DefaultRecoveryGrace), an empty answer does not
//     replace the last known set: a Consul that restarted without its
//     state answers before the registrars have registered their services
//     again.
//   - Malformed entries (no service, no address, a bad port, a negative
//     weight) are skipped and logged; the rest of the result is used.
//
// A Registrar registers one instance with the local agent with a TTL or an
// HTTP check, keeps it there from a goroutine (refreshing its TTL checks, or
// looking the service up when it has none, at least every
// DefaultKeepInterval, and registering again on a short back-off whenever
// the agent lost the service, as an agent restarted without its data has),
// and deregisters on Stop. Unlike go-kit's registrar, Register and Deregister
// return their errors, and those of its goroutine (and of the deregistration
// Stop performs) go to a callback as well as to the logger.
//
// Option configures a Publisher and RegistrarOption a Registrar; WithLogger
// is a CommonOption that fits either, and an option of the wrong kind does
// not compile. Every invalid argument is an error wrapping
// ErrInvalidArgument, which wraps publisher.ErrInvalidArgument.
package consul
