package consul

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/seed41aebe0c/lbkit/publisher"
)

// ErrMalformedEntry is wrapped by the reason an entry of a health result was
// skipped. Skipped entries are logged and counted in Stats.Skipped; the rest
// of the result is still published.
var ErrMalformedEntry = errors.New("consul: malformed health entry")

// Metadata keys the Publisher sets on every Instance, next to the service's
// own Meta. Consul forbids the "consul-" prefix in service meta, and these
// use "consul." so that they cannot be confused with a user's keys.
const (
	// MetaServiceID is the key of the service ID the instance was registered with.
	MetaServiceID = "consul.service_id"
	// MetaNode is the key of the name of the node the instance runs on.
	MetaNode = "consul.node"
	// MetaDatacenter is the key of the node's datacenter.
	MetaDatacenter = "consul.datacenter"
	// MetaTags is the key of the service's tags, joined with commas.
	MetaTags = "consul.tags"
	// MetaHealth is the key of the aggregated health: "passing" or "warning".
	MetaHealth = "consul.health"
	// MetaNamespace is the key of the service's namespace (Enterprise), when set.
	MetaNamespace = "consul.namespace"
	// MetaPartition is the key of the service's admin partition (Enterprise), when set.
	MetaPartition = "consul.partition"
)

// ZoneKey is the meta key the Publisher reads an instance's zone
// (publisher.Instance.Zone) from: the service's meta first, else its node's
// meta, as a node's availability zone is usually set once for the node.
const ZoneKey = "zone"

// decode turns the entries of a health query into instances. An entry that
// cannot be used gets one reason in skipped (wrapping ErrMalformedEntry) and
// does not stop the others. Entries not in an accepted state are left out
// without a reason: a server that ignored the passing filter must not put an
// unhealthy instance into rotation. When two entries share an address the
// first wins, since the address is an instance's identity.
func decode(entries []*api.ServiceEntry, includeWarning bool) (instances []publisher.Instance, skipped []error) {
	instances = make([]publisher.Instance, 0, len(entries))
	seen := make(map[string]struct{}, len(entries))
	for n, e := range entries {
		in, ok, err := decodeEntry(e, includeWarning)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("%w: entry %d: %w", ErrMalformedEntry, n, err))
			continue
		}
		if !ok {
			continue
		}
		if _, dup := seen[in.Address]; dup {
			skipped = append(skipped, fmt.Errorf("%w: entry %d: service %q: duplicate address %s",
				ErrMalformedEntry, n, in.Metadata[MetaServiceID], in.Address))
			continue
		}
		seen[in.Address] = struct{}{}
		instances = append(instances, in)
	}
	return instances, skipped
}

// decodeEntry returns the instance for one entry, ok=false for a healthy
// entry that must get no traffic, or an error for a malformed one.
func decodeEntry(e *api.ServiceEntry, includeWarning bool) (publisher.Instance, bool, error) {
	if e == nil {
		return publisher.Instance{}, false, errors.New("null entry")
	}
	s := e.Service
	if s == nil {
		return publisher.Instance{}, false, errors.New("no service")
	}
	if s.Port <= 0 || s.Port > 65535 {
		return publisher.Instance{}, false, fmt.Errorf("service %q: port %d out of range", s.ID, s.Port)
	}
	node := e.Node
	host := s.Address
	if host == "" && node != nil {
		host = node.Address
	}
	host, err := normaliseHost(host)
	if err != nil {
		return publisher.Instance{}, false, fmt.Errorf("service %q: %w", s.ID, err)
	}

	health, err := healthOf(e.Checks)
	if err != nil {
		return publisher.Instance{}, false, fmt.Errorf("service %q: %w", s.ID, err)
	}
	weight := s.Weights.Passing
	switch health {
	case api.HealthPassing:
	case api.HealthWarning:
		if !includeWarning {
			return publisher.Instance{}, false, nil
		}
		// Consul's own DNS interface gives a warning instance its warning
		// weight, and 0 there means "no traffic while in warning".
		weight = s.Weights.Warning
		if weight == 0 {
			return publisher.Instance{}, false, nil
		}
	default:
		return publisher.Instance{}, false, nil
	}
	if weight < 0 {
		return publisher.Instance{}, false, fmt.Errorf("service %q: negative weight %d", s.ID, weight)
	}

	meta := make(map[string]string, len(s.Meta)+7)
	for k, v := range s.Meta {
		meta[k] = v
	}
	meta[MetaServiceID] = s.ID
	meta[MetaTags] = strings.Join(s.Tags, ",")
	meta[MetaHealth] = health
	if node != nil {
		meta[MetaNode] = node.Node
		meta[MetaDatacenter] = node.Datacenter
	}
	if s.Namespace != "" {
		meta[MetaNamespace] = s.Namespace
	}
	if s.Partition != "" {
		meta[MetaPartition] = s.Partition
	}
	// Weight 0 means publisher.DefaultWeight, which is also what Consul
	// applies when a registration gives no weights.
	in := publisher.Instance{
		Address:  net.JoinHostPort(host, strconv.Itoa(s.Port)),
		Weight:   weight,
		Zone:     s.Meta[ZoneKey],
		Metadata: meta,
	}
	if in.Zone == "" && node != nil {
		in.Zone = node.Meta[ZoneKey]
	}
	return in, true, nil
}

// healthOf is the entry's aggregated status as Consul computes it (any
// maintenance, else the worst check), refusing the null check that
// api.HealthChecks.AggregatedStatus would dereference. An unknown status
// comes back as "" and so counts as not healthy.
func healthOf(checks api.HealthChecks) (string, error) {
	for _, c := range checks {
		if c == nil {
			return "", errors.New("null health check")
		}
	}
	return checks.AggregatedStatus(), nil
}

// normaliseHost checks an address from Consul and returns the host part to
// join with the port: IP addresses in canonical form (IPv6 without
// brackets, so JoinHostPort adds exactly one pair), host names as given.
// Anything that cannot be a host, such as an address that already carries
// a port, is an error rather than a garbled instance address.
func normaliseHost(h string) (string, error) {
	if h == "" {
		return "", errors.New("no service or node address")
	}
	bare := h
	if strings.HasPrefix(bare, "[") && strings.HasSuffix(bare, "]") {
		bare = bare[1 : len(bare)-1]
	}
	if ip, err := netip.ParseAddr(bare); err == nil {
		// netip accepts any bytes as an IPv6 zone; only an interface
		// name or number survives a round trip through "[addr%zone]:port".
		if !hostChars(ip.Zone()) {
			return "", fmt.Errorf("address %q: bad IPv6 zone", h)
		}
		return ip.String(), nil
	}
	if len(h) > 253 || !hostChars(h) {
		return "", fmt.Errorf("address %q is neither an IP address nor a host name", h)
	}
	return h, nil
}

// hostChars reports whether s holds only what host names (and interface
// names) are made of.
func hostChars(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
		default:
			return false
		}
	}
	return true
}
