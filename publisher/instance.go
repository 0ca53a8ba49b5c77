package publisher

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DefaultWeight is the weight of an instance whose discovery system does not
// give one (Instance.Weight == 0).
const DefaultWeight = 1

// Instance is one reachable copy of a remote service.
//
// Address is the identity of an instance: two instances with the same Address
// are the same instance, whatever their other fields say. The remaining fields
// are hints that strategies may honour.
type Instance struct {
	// Address is what the endpoint factory receives, typically "host:port"
	// (IPv6 hosts in brackets: "[::1]:8080").
	Address string
	// Weight is the relative share of traffic this instance should get
	// under weighted strategies. Zero means DefaultWeight.
	Weight int
	// Priority orders groups of instances as in DNS SRV: lower is preferred.
	Priority int
	// Zone is the failure domain the instance runs in (availability zone,
	// rack, data centre), for zone-aware routing; empty when unknown. Each
	// publisher fills it from its own source (see docs/discovery.md).
	Zone string
	// Metadata carries what the discovery system knows about the instance
	// (tags, zone, version). It must not be modified after publication.
	Metadata map[string]string
}

// EffectiveWeight returns Weight, or DefaultWeight when Weight is zero.
func (i Instance) EffectiveWeight() int {
	if i.Weight == 0 {
		return DefaultWeight
	}
	return i.Weight
}

// Validate reports whether the instance can be used: a non-empty address and a
// non-negative weight. The returned error wraps ErrInvalidArgument.
func (i Instance) Validate() error {
	if i.Address == "" {
		return fmt.Errorf("%w: instance with an empty address", ErrInvalidArgument)
	}
	if i.Weight < 0 {
		return fmt.Errorf("%w: instance %s: negative weight %d", ErrInvalidArgument, i.Address, i.Weight)
	}
	return nil
}

// Equal reports whether two instances have the same address, weight,
// priority, zone and metadata.
func (i Instance) Equal(o Instance) bool {
	return i.Address == o.Address && i.Weight == o.Weight && i.Priority == o.Priority && i.Zone == o.Zone &&
		maps.Equal(i.Metadata, o.Metadata)
}

// Addresses returns the addresses of instances, in order.
func Addresses(instances []Instance) []string {
	out := make([]string, len(instances))
	for n, in := range instances {
		out[n] = in.Address
	}
	return out
}

// FromAddresses returns one Instance per address with default weight and
// priority.
func FromAddresses(addresses ...string) []Instance {
	out := make([]Instance, len(addresses))
	for n, a := range addresses {
		out[n] = Instance{Address: a}
	}
	return out
}

// Event is a complete description of a service's instances at one moment, or
// a failure to obtain one.
//
// When Err is nil, Instances is the whole current set (possibly empty). When
// Err is not nil, the discovery backend could not be read; Instances is then
// the last known set, which consumers may keep using (the loadbalancer
// package keeps it unless told to invalidate it).
//
// Invalid, when not nil, describes the instances the source offered that
// failed validation (see ValidateAll) and were left out of Instances; it is
// an *InvalidError. The valid instances are the set in force, so Invalid is
// not a discovery failure; when every instance offered was invalid, the
// event is one (Err is the same error) and keeps the last known set.
//
// Instances is shared between all subscribers and must not be modified.
type Event struct {
	Instances []Instance
	Err       error
	Invalid   error
}

// maxInvalidReasons bounds the reasons an InvalidError keeps, so that a
// source publishing thousands of bad instances does not make a huge error
// on every event.
const maxInvalidReasons = 5

// InvalidError describes the instances left out of an event: how many,
// and the reasons for the first few. It unwraps to those reasons: the
// validator's wrap ErrInvalidArgument; a publisher's own (a record or value
// it could not decode) wrap that publisher's error, such as
// dnssrv.ErrBadRecord or etcd.ErrBadValue.
type InvalidError struct {
	// Dropped is how many instances were left out.
	Dropped int
	// Reasons are the errors of the first few left out (at most 5).
	Reasons []error
}

// NewInvalidError returns an *InvalidError for the instances a publisher
// left out for the given reasons (keeping the first few), or nil when there
// are none. A publisher puts it in Event.Invalid; Publish adds its own.
func NewInvalidError(reasons ...error) error {
	if len(reasons) == 0 {
		return nil
	}
	return &InvalidError{Dropped: len(reasons), Reasons: slices.Clone(reasons[:min(len(reasons), maxInvalidReasons)])}
}

func (e *InvalidError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "publisher: %d instances dropped: ", e.Dropped)
	for n, r := range e.Reasons {
		if n > 0 {
			b.WriteString("; ")
		}
		b.WriteString(r.Error())
	}
	if more := e.Dropped - len(e.Reasons); more > 0 {
		fmt.Fprintf(&b, "; and %d more", more)
	}
	return b.String()
}

// Unwrap returns the reasons kept, so errors.Is and errors.As see them.
func (e *InvalidError) Unwrap() []error { return e.Reasons }

// ValidateAll is the one instance validator of lbkit's publishers: Fanout
// runs it on every event, so every publisher, FromInstancer and a discovery
// source of your own get it. It returns the instances that can be used,
// sorted by address, leaving out each one that fails Validate (an empty
// address, a negative weight) and each later instance with an address
// already seen (the first wins, in the order given). The error, nil when
// nothing was left out, is an *InvalidError saying what and why.
//
// instances is not modified.
func ValidateAll(instances []Instance) ([]Instance, error) {
	out, ie := validate(instances)
	if ie == nil {
		return out, nil
	}
	return out, ie
}

// validate is ValidateAll with a concrete error type.
func validate(instances []Instance) ([]Instance, *InvalidError) {
	ins := slices.Clone(instances)
	// A stable sort puts duplicates side by side, first given first: no
	// map needed to find them.
	slices.SortStableFunc(ins, func(a, b Instance) int { return cmp.Compare(a.Address, b.Address) })
	var ie *InvalidError
	out := ins[:0]
	for _, in := range ins {
		err := in.Validate()
		if err == nil && len(out) > 0 && out[len(out)-1].Address == in.Address {
			err = fmt.Errorf("%w: duplicate address %s", ErrInvalidArgument, in.Address)
		}
		if err == nil {
			out = append(out, in)
			continue
		}
		if ie == nil {
			ie = &InvalidError{}
		}
		ie.Dropped++
		if len(ie.Reasons) < maxInvalidReasons {
			ie.Reasons = append(ie.Reasons, err)
		}
	}
	clear(ins[len(out):]) // no stale metadata maps beyond the length
	return out[:len(out):len(out)], ie
}
