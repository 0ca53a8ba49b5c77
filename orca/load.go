package orca

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// Header is the name of the response header (and gRPC trailer) that
// carries a load report, as Envoy and gRPC name it.
const Header = "endpoint-load-metrics"

// textPrefix marks the text form of the header's value, the one this
// package writes; Parse also reads the JSON form ("JSON "), and rejects
// the binary one ("BIN ", a base64 protocol buffer).
const textPrefix = "TEXT "

// ErrInvalidArgument is wrapped by every error this package returns for a
// bad argument, option or header value, so callers can test for it with
// errors.Is.
var ErrInvalidArgument = errors.New("orca: invalid argument")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}

// Load is one ORCA load report: what a backend says about its own load.
// Zero means "not reported", as in ORCA's protocol buffer
// (xds.data.orca.v3.OrcaLoadReport), whose fields these are.
type Load struct {
	// CPUUtilization is the process's CPU use as a fraction of the CPU it
	// may use (cpu_utilization).
	CPUUtilization float64
	// MemUtilization is its memory use as a fraction (mem_utilization).
	MemUtilization float64
	// ApplicationUtilization is a utilization the application computes
	// (application_utilization); a weighted strategy prefers it to
	// CPUUtilization.
	ApplicationUtilization float64
	// RPS is the requests per second served (rps_fractional, gRPC's qps).
	RPS float64
	// EPS is the errors per second among them (eps).
	EPS float64
	// NamedMetrics are the application's own metrics
	// (named_metrics.NAME=VALUE); nil if none.
	NamedMetrics map[string]float64
	// Utilization are further utilizations by name (utilization.NAME), and
	// RequestCost costs of the request by name (request_cost.NAME); nil if
	// none.
	Utilization, RequestCost map[string]float64
}

// Report is the part of l that a host's statistics keep
// (strategy.Host.ReportLoad).
func (l Load) Report() strategy.LoadReport {
	return strategy.LoadReport{CPUUtilization: l.CPUUtilization, ApplicationUtilization: l.ApplicationUtilization, RPS: l.RPS, EPS: l.EPS}
}

// The fields of the text form, in the order Format writes them.
const (
	keyApp  = "application_utilization"
	keyCPU  = "cpu_utilization"
	keyMem  = "mem_utilization"
	keyRPS  = "rps_fractional"
	keyEPS  = "eps"
	preNam  = "named_metrics."
	preUtil = "utilization."
	preCost = "request_cost."
)

// Format returns l in the text form of the endpoint-load-metrics header,
// as Envoy reads it: "TEXT " and comma-separated name=value pairs, fields
// that are zero left out, map entries sorted by name, for example
//
//	TEXT cpu_utilization=0.3,rps_fractional=10,eps=1,named_metrics.foo=2
//
// Values are written in the shortest form that Parse reads back exactly. A
// negative, NaN or infinite field, a NaN or infinite map value, or a map
// name that is empty or holds a comma, '=', ':' or white space, is an
// error wrapping ErrInvalidArgument.
func Format(l Load) (string, error) {
	b, err := AppendFormat(make([]byte, 0, 96), l)
	return string(b), err
}

// AppendFormat appends Format's text to dst; on error it returns dst
// unchanged. A Load without maps formats without allocating once dst has
// room.
func AppendFormat(dst []byte, l Load) ([]byte, error) {
	orig := len(dst)
	dst = append(dst, textPrefix...)
	first := true
	for _, f := range [...]struct {
		k string
		v float64
	}{{keyApp, l.ApplicationUtilization}, {keyCPU, l.CPUUtilization}, {keyMem, l.MemUtilization}, {keyRPS, l.RPS}, {keyEPS, l.EPS}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return dst[:orig], invalid("%s = %v: want a finite value, at least 0", f.k, f.v)
		}
		if f.v != 0 {
			dst, first = appendPair(dst, first, "", f.k, f.v)
		}
	}
	for _, e := range [...]struct {
		prefix string
		m      map[string]float64
	}{{preNam, l.NamedMetrics}, {preUtil, l.Utilization}, {preCost, l.RequestCost}} {
		if len(e.m) == 0 {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(e.m)) {
			v := e.m[name]
			if !validName(name) {
				return dst[:orig], invalid("%s%q: a name must be non-empty, without comma, '=', ':' or space", e.prefix, name)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return dst[:orig], invalid("%s%s = %v: want a finite value", e.prefix, name, v)
			}
			dst, first = appendPair(dst, first, e.prefix, name, v)
		}
	}
	return dst, nil
}

// appendPair appends prefix+name=v, after a comma unless it is the first.
func appendPair(dst []byte, first bool, prefix, name string, v float64) ([]byte, bool) {
	if !first {
		dst = append(dst, ',')
	}
	dst = append(dst, prefix...)
	dst = append(dst, name...)
	dst = append(dst, '=')
	return strconv.AppendFloat(dst, v, 'g', -1, 64), false
}

func validName(s string) bool {
	return s != "" && !strings.ContainsAny(s, ",=: \t\r\n\v\f")
}

// Parse reads the text form of an endpoint-load-metrics header value, as
// Envoy does: "TEXT " followed by comma-separated name=value pairs (Envoy
// also accepts name:value, and so does Parse), white space around pairs
// ignored. The names are cpu_utilization, mem_utilization,
// application_utilization, rps_fractional, eps, and named_metrics.NAME,
// utilization.NAME and request_cost.NAME. An unknown or repeated name, an
// empty name or value, a value that is not a number, NaN or infinite, a
// negative value of a standard field, or the binary format ("BIN ") is an
// error wrapping ErrInvalidArgument.
//
// Parse also reads the JSON form, "JSON " and an OrcaLoadReport in
// protocol buffers' JSON mapping, as Envoy does:
//
//	JSON {"cpuUtilization": 0.3, "rpsFractional": 10, "namedMetrics": {"foo": 2}}
//
// with field names in either spelling (cpu_utilization or
// cpuUtilization), numbers as JSON numbers or strings, and the deprecated
// integer rps standing for rps_fractional when that is absent. Unlike
// the text form, it allocates even on the client's per-response path.
func Parse(s string) (Load, error) {
	if strings.HasPrefix(s, jsonPrefix) {
		return parseJSON(s)
	}
	var l Load
	seen := 0 // bit set of the standard fields
	sc := scanner{rest: s}
	if err := sc.start(); err != nil {
		return Load{}, err
	}
	for {
		key, v, ok, err := sc.next()
		if err != nil {
			return Load{}, err
		}
		if !ok {
			return l, nil
		}
		if f := standard(key); f >= 0 {
			if seen&(1<<f) != 0 {
				return Load{}, invalid("%s appears twice", key)
			}
			seen |= 1 << f
			*[...]*float64{&l.ApplicationUtilization, &l.CPUUtilization, &l.MemUtilization, &l.RPS, &l.EPS}[f] = v
			continue
		}
		prefix, name, m := mapOf(&l, key)
		if m == nil {
			return Load{}, invalid("unknown metric %q", key)
		}
		if *m == nil {
			*m = make(map[string]float64)
		}
		if _, dup := (*m)[name]; dup {
			return Load{}, invalid("%s%s appears twice", prefix, name)
		}
		(*m)[name] = v
	}
}

// parseReport is Parse for a host's statistics: only the fields a
// strategy reads, without allocating. Map entries are checked for form
// (and named once) but not kept; a name repeated among them goes
// unnoticed.
func parseReport(s string) (strategy.LoadReport, error) {
	if strings.HasPrefix(s, jsonPrefix) {
		l, err := parseJSON(s)
		return l.Report(), err
	}
	var r strategy.LoadReport
	var ignore float64
	seen := 0
	sc := scanner{rest: s}
	if err := sc.start(); err != nil {
		return r, err
	}
	for {
		key, v, ok, err := sc.next()
		if err != nil {
			return strategy.LoadReport{}, err
		}
		if !ok {
			return r, nil
		}
		if f := standard(key); f >= 0 {
			if seen&(1<<f) != 0 {
				return strategy.LoadReport{}, invalid("%s appears twice", key)
			}
			seen |= 1 << f
			*[...]*float64{&r.ApplicationUtilization, &r.CPUUtilization, &ignore, &r.RPS, &r.EPS}[f] = v
			continue
		}
		if _, _, m := mapOf(nil, key); m == nil {
			return strategy.LoadReport{}, invalid("unknown metric %q", key)
		}
	}
}

// standard returns the index of a standard field (in Format's order), or
// -1.
func standard(key string) int {
	switch key {
	case keyApp:
		return 0
	case keyCPU:
		return 1
	case keyMem:
		return 2
	case keyRPS:
		return 3
	case keyEPS:
		return 4
	}
	return -1
}

// placeholder is what mapOf returns for a valid map key when l is nil.
var placeholder map[string]float64

// mapOf returns the map a key's metric goes to, the key's prefix and the
// name after it; a nil map pointer if the key is not a map entry. With l
// nil it only validates the key.
func mapOf(l *Load, key string) (prefix, name string, m *map[string]float64) {
	for i, p := range [...]string{preNam, preUtil, preCost} {
		if n, ok := strings.CutPrefix(key, p); ok && validName(n) {
			if l == nil {
				return p, n, &placeholder
			}
			return p, n, [...]*map[string]float64{&l.NamedMetrics, &l.Utilization, &l.RequestCost}[i]
		}
	}
	return "", "", nil
}

// scanner walks the pairs of a text-form value without allocating (but
// for its errors).
type scanner struct{ rest string }

func (sc *scanner) start() error {
	s, ok := strings.CutPrefix(sc.rest, textPrefix)
	if !ok {
		f := sc.rest
		if len(f) > 5 {
			f = f[:5]
		}
		return invalid("%s: unsupported format %q, want the text form \"TEXT name=value,...\" or the JSON form \"JSON {...}\"", Header, f)
	}
	sc.rest = s
	return nil
}

// next returns the next pair, ok false at the end.
func (sc *scanner) next() (key string, v float64, ok bool, err error) {
	for {
		if sc.rest == "" {
			return "", 0, false, nil
		}
		var pair string
		pair, sc.rest, _ = strings.Cut(sc.rest, ",")
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue // as Envoy's comma-delimited header parsing, skip empties
		}
		i := strings.IndexAny(pair, "=:")
		if i < 0 {
			return "", 0, false, invalid("%s: %q is not name=value", Header, pair)
		}
		key, val := strings.TrimSpace(pair[:i]), strings.TrimSpace(pair[i+1:])
		if key == "" || val == "" {
			return "", 0, false, invalid("%s: %q has an empty name or value", Header, pair)
		}
		v, perr := strconv.ParseFloat(val, 64)
		if perr != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return "", 0, false, invalid("%s: %s=%q is not a finite number", Header, key, val)
		}
		if v < 0 && standard(key) >= 0 {
			return "", 0, false, invalid("%s: %s=%v is negative", Header, key, v)
		}
		return key, v, true, nil
	}
}
