package dnssrv_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/dnssrv"
)

// TestMalformedNameRefused: a name that is not a DNS name is refused by New
// with an error wrapping ErrInvalidArgument, instead of being polled for
// ever with a misleading "no such host".
func TestMalformedNameRefused(t *testing.T) {
	for name, srv := range map[string]string{
		"spaces and punctuation": "not a valid name!!",
		"empty label":            "a..b",
		"leading dot":            ".users.internal",
		"300-character label":    strings.Repeat("a", 300),
		"64-byte label":          strings.Repeat("b", 64) + ".internal",
		"name over 253 bytes":    strings.Repeat(strings.Repeat("c", 60)+".", 5) + "internal",
		"URL":                    "http://users.internal",
		"host:port":              "users.internal:53",
		"only a dot":             ".",
		"trailing dots":          "users.internal..",
		"non-ASCII":              "usérs.internal",
		"IPv6 literal":           "::1",
	} {
		p, err := dnssrv.New(srv, time.Minute, dnssrv.WithResolver(emptyResolver{}))
		if err == nil {
			p.Stop()
			t.Errorf("%s: New(%q) accepted", name, srv)
			continue
		}
		if !errors.Is(err, dnssrv.ErrInvalidArgument) || !errors.Is(err, publisher.ErrInvalidArgument) {
			t.Errorf("%s: New(%q) = %v, want ErrInvalidArgument", name, srv, err)
		}
	}
}

// TestWellFormedNamesAccepted: what real SRV names look like.
func TestWellFormedNamesAccepted(t *testing.T) {
	for _, srv := range []string{
		"_http._tcp.users.internal",
		"_http._tcp.users.internal.",
		"users",
		"USERS.Example.COM",
		strings.Repeat("a", 63) + ".internal",
		"xn--bcher-kva.example",
		"10-0-0-1.pods.local",
	} {
		p, err := dnssrv.New(srv, time.Hour, dnssrv.WithResolver(emptyResolver{}))
		if err != nil {
			t.Errorf("New(%q) = %v", srv, err)
			continue
		}
		p.Stop()
	}
}

// emptyResolver answers every lookup with no records.
type emptyResolver struct{}

func (emptyResolver) LookupSRV(context.Context, string, string, string) (string, []*net.SRV, error) {
	return "", nil, nil
}
