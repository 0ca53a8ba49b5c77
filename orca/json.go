package orca

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// jsonPrefix marks the JSON form of the header's value: an
// OrcaLoadReport in protocol buffers' JSON mapping.
const jsonPrefix = "JSON "

// jsonFields maps each field of OrcaLoadReport, by its name without
// underscores and in lower case (so that the proto name cpu_utilization
// and the JSON name cpuUtilization both find it), to the text form's key
// or map prefix.
var jsonFields = map[string]string{
	"cpuutilization":         keyCPU,
	"memutilization":         keyMem,
	"applicationutilization": keyApp,
	"rpsfractional":          keyRPS,
	"eps":                    keyEPS,
	"rps":                    "rps", // the deprecated integer field
	"namedmetrics":           preNam,
	"utilization":            preUtil,
	"requestcost":            preCost,
}

// parseJSON reads the JSON form: "JSON " and an OrcaLoadReport object, as
// protocol buffers map it to JSON. Field names may be the proto's
// (cpu_utilization) or JSON's (cpuUtilization); numbers may be JSON
// numbers or strings holding one, as the mapping allows. The deprecated
// integer rps counts as rps_fractional when that is absent. An unknown or
// repeated field, a value that is not a finite number, a negative value
// of a standard field or a map entry with an empty name is an error
// wrapping ErrInvalidArgument.
func parseJSON(s string) (Load, error) {
	var l Load
	body, _ := strings.CutPrefix(s, jsonPrefix)
	var fields map[string]json.RawMessage
	if err := strictJSON(body, &fields); err != nil {
		return Load{}, invalid("%s: JSON form: %v", Header, err)
	}
	seen := map[string]string{}
	rps, hasRPS := 0.0, false
	for name, raw := range fields {
		key, ok := jsonFields[strings.ToLower(strings.ReplaceAll(name, "_", ""))]
		if !ok {
			return Load{}, invalid("%s: unknown field %q", Header, name)
		}
		if other, dup := seen[key]; dup {
			return Load{}, invalid("%s: %q and %q are the same field", Header, other, name)
		}
		seen[key] = name
		if m := jsonMap(&l, key); m != nil {
			var entries map[string]json.RawMessage
			if err := strictJSON(string(raw), &entries); err != nil {
				return Load{}, invalid("%s: %s: %v", Header, name, err)
			}
			if len(entries) == 0 {
				continue
			}
			*m = make(map[string]float64, len(entries))
			for n, rv := range entries {
				if n == "" {
					return Load{}, invalid("%s: %s has an entry with an empty name", Header, name)
				}
				v, err := jsonNumber(rv)
				if err != nil {
					return Load{}, invalid("%s: %s[%q]: %v", Header, name, n, err)
				}
				(*m)[n] = v
			}
			continue
		}
		v, err := jsonNumber(raw)
		if err != nil {
			return Load{}, invalid("%s: %s: %v", Header, name, err)
		}
		if v < 0 {
			return Load{}, invalid("%s: %s=%v is negative", Header, name, v)
		}
		if key == "rps" {
			rps, hasRPS = v, true
			continue
		}
		*[...]*float64{&l.ApplicationUtilization, &l.CPUUtilization, &l.MemUtilization, &l.RPS, &l.EPS}[standard(key)] = v
	}
	if _, frac := seen[keyRPS]; hasRPS && !frac {
		l.RPS = rps
	}
	return l, nil
}

// jsonMap returns the map of l that the map field key (a prefix such as
// preNam) fills, or nil for a field that is a number.
func jsonMap(l *Load, key string) *map[string]float64 {
	switch key {
	case preNam:
		return &l.NamedMetrics
	case preUtil:
		return &l.Utilization
	case preCost:
		return &l.RequestCost
	}
	return nil
}

// strictJSON decodes s into v, a map, refusing anything after the value.
func strictJSON(s string, v any) error {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

// jsonNumber reads a number given as a JSON number or as a string holding
// one; it must be finite.
func jsonNumber(raw json.RawMessage) (float64, error) {
	raw = bytes.TrimSpace(raw)
	text := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, err
		}
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a finite number", raw)
	}
	return v, nil
}
