package dnssrv

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/seed41aebe0c/lbkit/publisher"
)

// ErrBadRecord is wrapped by the errors Decode returns for records it skips.
var ErrBadRecord = errors.New("dnssrv: unusable SRV record")

// maxNameLen is the longest presentation-format domain name without the
// trailing dot (RFC 1035: 255 octets on the wire).
const maxNameLen = 253

// Decode turns SRV records into instances, in the order given.
//
// A record's target loses its trailing dot and is lowercased (DNS names are
// case-insensitive, and the address is an instance's identity). An IPv6
// literal target is bracketed by net.JoinHostPort. Weight and Priority are
// copied from the record, so an SRV weight of 0 becomes
// publisher.DefaultWeight under weighted strategies.
//
// A record that cannot be used (nil, port 0, an empty or malformed target)
// is left out and described by an error in skipped that wraps ErrBadRecord.
// A "." target (RFC 2782: the service is not available) is left out without
// an error. When two records name the same target and port, the one with
// the lower priority, then the higher weight, is kept, so the result does
// not depend on the order the resolver returned them in; the other is
// described in skipped (an address is an instance's identity, so a second
// one is never merged silently).
func Decode(records []*net.SRV) (instances []publisher.Instance, skipped []error) {
	instances = make([]publisher.Instance, 0, len(records))
	var seen map[string]int
	for _, r := range records {
		in, ok, err := decodeOne(r)
		if err != nil {
			skipped = append(skipped, err)
			continue
		}
		if !ok {
			continue
		}
		if seen == nil {
			seen = make(map[string]int, len(records))
		}
		if at, dup := seen[in.Address]; dup {
			lost := in
			if better(in, instances[at]) {
				lost, instances[at] = instances[at], in
			}
			skipped = append(skipped, fmt.Errorf("%w: duplicate address %s (priority %d, weight %d) left out",
				ErrBadRecord, lost.Address, lost.Priority, lost.Weight))
			continue
		}
		seen[in.Address] = len(instances)
		instances = append(instances, in)
	}
	return instances, skipped
}

// better reports whether a should win over b for the same address.
func better(a, b publisher.Instance) bool {
	if a.Priority != b.Priority {
		return a.Priority < b.Priority
	}
	return a.Weight > b.Weight
}

// decodeOne returns the instance of one record; ok is false (with a nil
// error) for the "not available" target.
func decodeOne(r *net.SRV) (in publisher.Instance, ok bool, err error) {
	if r == nil {
		return in, false, fmt.Errorf("%w: nil record", ErrBadRecord)
	}
	if r.Target == "." {
		return in, false, nil
	}
	if r.Port == 0 {
		return in, false, fmt.Errorf("%w: target %q: port 0", ErrBadRecord, r.Target)
	}
	host, err := canonicalTarget(r.Target)
	if err != nil {
		return in, false, err
	}
	in = publisher.Instance{
		Address:  net.JoinHostPort(host, strconv.Itoa(int(r.Port))),
		Weight:   int(r.Weight),
		Priority: int(r.Priority),
	}
	return in, true, nil
}

// canonicalTarget validates an SRV target and returns it without its
// trailing dot, lowercased. IP literals are accepted as well as names, since
// resolvers in tests and some service meshes return them.
func canonicalTarget(target string) (string, error) {
	name := strings.TrimSuffix(target, ".")
	if name == "" {
		return "", fmt.Errorf("%w: empty target", ErrBadRecord)
	}
	if ip, err := netip.ParseAddr(name); err == nil {
		// A zone is free text to netip, but "]" or ":" in it would make
		// an address that does not split back into host and port.
		if !validZone(ip.Zone()) {
			return "", fmt.Errorf("%w: target %q: invalid IPv6 zone", ErrBadRecord, target)
		}
		return ip.String(), nil
	}
	if reason := checkName(name); reason != "" {
		return "", fmt.Errorf("%w: target %q: %s", ErrBadRecord, target, reason)
	}
	return strings.ToLower(name), nil
}

// checkName says what is wrong with a domain name in presentation format
// without its trailing dot, or "" if nothing is: at most maxNameLen bytes,
// labels of 1 to 63 letters, digits, hyphens or underscores (SRV names
// start with "_service._proto"). It is the one check of names, for SRV
// targets and for the name New is given.
func checkName(name string) string {
	if name == "" {
		return "empty name"
	}
	if len(name) > maxNameLen {
		return fmt.Sprintf("longer than %d characters", maxNameLen)
	}
	label := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.':
			if label == 0 {
				return "empty label"
			}
			label = 0
			continue
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return fmt.Sprintf("invalid character %q", c)
		}
		label++
		if label > 63 {
			return "label longer than 63 characters"
		}
	}
	if label == 0 {
		return "empty label"
	}
	return ""
}

// validZone reports whether an IPv6 zone is made of interface-name
// characters only ("eth0", "eth0.100"), not ending in a dot that a trailing
// dot trim would eat.
func validZone(zone string) bool {
	if strings.HasSuffix(zone, ".") {
		return false
	}
	for i := 0; i < len(zone); i++ {
		c := zone[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
