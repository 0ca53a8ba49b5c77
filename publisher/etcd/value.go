package etcd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/seed41aebe0c/lbkit/publisher"
)

// Limits on what a value may hold. They keep a corrupt or hostile value
// from turning into an absurd weight or a huge address.
const (
	// MaxWeight is the largest weight a value may carry.
	MaxWeight = 1 << 20
	// MaxPriority is the largest priority a value may carry (that of DNS
	// SRV records).
	MaxPriority = 65535
	// MaxAddressLen is the longest address a value may carry.
	MaxAddressLen = 1024
)

// ErrBadValue is wrapped by the errors DecodeValue and EncodeValue return.
var ErrBadValue = errors.New("etcd: malformed instance value")

// jsonValue is the JSON form of a value.
type jsonValue struct {
	Address  string            `json:"address"`
	Weight   int               `json:"weight,omitempty"`
	Priority int               `json:"priority,omitempty"`
	Zone     string            `json:"zone,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// DecodeValue reads an instance from a value in either form described in
// the package documentation. Errors wrap ErrBadValue.
func DecodeValue(value []byte) (publisher.Instance, error) {
	v := bytes.TrimSpace(value)
	if len(v) == 0 {
		return publisher.Instance{}, fmt.Errorf("%w: empty", ErrBadValue)
	}
	if v[0] != '{' {
		addr := string(v)
		if err := checkAddress(addr); err != nil {
			return publisher.Instance{}, err
		}
		return publisher.Instance{Address: addr}, nil
	}
	var j jsonValue
	if err := json.Unmarshal(v, &j); err != nil {
		return publisher.Instance{}, fmt.Errorf("%w: %w", ErrBadValue, err)
	}
	in := publisher.Instance{Address: j.Address, Weight: j.Weight, Priority: j.Priority, Zone: j.Zone, Metadata: j.Metadata}
	if err := check(in); err != nil {
		return publisher.Instance{}, err
	}
	if len(in.Metadata) == 0 {
		in.Metadata = nil // "metadata":{} and no metadata are the same instance
	}
	return in, nil
}

// EncodeValue returns the value that DecodeValue reads back as in: the plain
// address when in has no weight, priority, zone or metadata, JSON otherwise.
// An instance that DecodeValue would refuse is an error wrapping both
// ErrInvalidArgument and ErrBadValue.
func EncodeValue(in publisher.Instance) (string, error) {
	if err := check(in); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	if in.Weight == 0 && in.Priority == 0 && in.Zone == "" && len(in.Metadata) == 0 {
		return in.Address, nil
	}
	b, err := json.Marshal(jsonValue{Address: in.Address, Weight: in.Weight, Priority: in.Priority, Zone: in.Zone, Metadata: in.Metadata})
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadValue, err)
	}
	return string(b), nil
}

func check(in publisher.Instance) error {
	if err := checkAddress(in.Address); err != nil {
		return err
	}
	if in.Weight < 0 || in.Weight > MaxWeight {
		return fmt.Errorf("%w: %s: weight %d out of [0, %d]", ErrBadValue, in.Address, in.Weight, MaxWeight)
	}
	if in.Priority < 0 || in.Priority > MaxPriority {
		return fmt.Errorf("%w: %s: priority %d out of [0, %d]", ErrBadValue, in.Address, in.Priority, MaxPriority)
	}
	return nil
}

// checkAddress accepts "host:port" with a port from 1 to 65535, or a URL
// with a scheme and a host, without white space or control characters.
func checkAddress(a string) error {
	switch {
	case a == "":
		return fmt.Errorf("%w: empty address", ErrBadValue)
	case len(a) > MaxAddressLen:
		return fmt.Errorf("%w: address longer than %d bytes", ErrBadValue, MaxAddressLen)
	case strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\uFFFD' }):
		return fmt.Errorf("%w: address %q: white space, control or invalid characters", ErrBadValue, a)
	}
	if strings.Contains(a, "://") {
		u, err := url.Parse(a)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("%w: address %q: not a URL with a scheme and host", ErrBadValue, a)
		}
		return nil
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("%w: address %q: %w", ErrBadValue, a, err)
	}
	if host == "" {
		return fmt.Errorf("%w: address %q: empty host", ErrBadValue, a)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 || port[0] == '+' {
		return fmt.Errorf("%w: address %q: port must be 1 to 65535", ErrBadValue, a)
	}
	return nil
}
