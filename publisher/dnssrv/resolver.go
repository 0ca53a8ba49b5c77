package dnssrv

import (
	"context"
	"net"
	"time"
)

// Resolver looks up SRV records. *net.Resolver satisfies it; the publisher
// calls it with empty service and proto, so name is the full SRV name
// ("_http._tcp.example.com").
//
// As *net.Resolver does, a Resolver may return records together with an
// error (for records it had to drop); the publisher then uses the records
// and logs the error.
type Resolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (cname string, addrs []*net.SRV, err error)
}

// TTLResolver is a Resolver that can also report how long an answer may be
// cached: the smallest TTL of the SRV records in it. Client implements it.
type TTLResolver interface {
	Resolver
	LookupSRVTTL(ctx context.Context, service, proto, name string) (addrs []*net.SRV, ttl time.Duration, err error)
}

var _ Resolver = (*net.Resolver)(nil)
