// Package dnssrv is a Publisher over DNS SRV records: it looks up one SRV
// name at an interval and publishes one Instance per usable record.
//
// Each record becomes an Instance whose Address is "target:port" (an IP
// literal target in brackets when it is IPv6: "[::1]:8080"), whose Weight
// and Priority are the record's, and whose Metadata is nil. A record's
// trailing dot is dropped ("db1.example.com." becomes "db1.example.com").
// Records that cannot be used (port 0, an empty or malformed target) are
// skipped with a logged warning rather than failing the whole lookup. A
// target of "." alone is RFC 2782's "the service is decidedly not available
// at this domain" and yields an empty set.
//
// The lookup goes through a Resolver, which *net.Resolver satisfies, so a
// program points the publisher at any DNS server by giving it a resolver
// with PreferGo and its own Dial. Client is a small DNS client for one
// server that also reports the records' TTL; with it and WithTTL the
// publisher polls again when the records expire instead of at a fixed
// interval.
//
// While lookups fail the publisher publishes the error and subscribers keep
// the last known instances; the next successful lookup replaces them, so
// the publisher recovers without a restart. A name that does not exist
// (NXDOMAIN, or no SRV records) counts as a failure too, because a DNS
// server that briefly answers NXDOMAIN must not empty a client's balancer;
// WithNotFoundAsEmpty changes that.
//
// The publisher's goroutine starts in New, does its first lookup at once and
// ends on Stop. Every invalid argument is an error wrapping
// ErrInvalidArgument, which wraps publisher.ErrInvalidArgument.
package dnssrv
