package dnssrv

import (
	"net"
	"strings"
)

// WithZoneLabel makes the publisher read each instance's zone
// (publisher.Instance.Zone) from its SRV target, by a naming convention:
// the target's label number n, counting from 1 at the left. With n = 2,
// "web-1.eu-west-1a.svc.example." is in zone "eu-west-1a". SRV records
// have no field for a zone, so the convention is the operator's to keep;
// a target with fewer than n labels, or an IP literal, has no zone. By
// default no zone is read. n below 1 is an error wrapping
// ErrInvalidArgument.
func WithZoneLabel(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("zone label %d: must be at least 1", n)
		}
		c.zoneLabel = n
		return nil
	}
}

// ZoneOf returns label n (from 1, at the left) of the host of address
// ("host:port" or a bare host), the zone WithZoneLabel reads, or "" when
// the host has fewer labels or is an IP literal.
func ZoneOf(address string, n int) string {
	host := address
	if h, _, err := net.SplitHostPort(address); err == nil {
		host = h
	}
	if n < 1 || net.ParseIP(host) != nil {
		return ""
	}
	for i := 1; ; i++ {
		label, rest, more := strings.Cut(host, ".")
		if i == n {
			return label
		}
		if !more {
			return ""
		}
		host = rest
	}
}
