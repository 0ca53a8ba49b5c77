package statuspage

import (
	"math"
	"reflect"
	"time"

	"github.com/seed41aebe0c/lbkit/strategy"
)

// shownFields are the strategy.HostStats fields the page shows by name;
// hostState passes on the others.
var shownFields = map[string]bool{
	"Address": true, "Weight": true, "Priority": true, "Metadata": true, "InFlight": true,
	"Started": true, "Requests": true, "Failures": true, "Score": true, "Latency": true,
	"PeakLatency": true, "RecentScore": true, "Latencies": true,
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	timeType     = reflect.TypeFor[time.Time]()
)

// hostState returns the fields of h that the page does not know by name
// and can show as they are, such as an ejection or ramp-up state added to
// strategy.HostStats after this page was written: so the page shows them
// without depending on them. Nil if there are none.
func hostState(h *strategy.HostStats) map[string]any { return extraFields(reflect.ValueOf(h).Elem()) }

// extraFields returns the exported fields of struct v not in shownFields
// whose values the page can show, by name.
func extraFields(v reflect.Value) map[string]any {
	var out map[string]any
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || shownFields[f.Name] {
			continue
		}
		fv := v.Field(i)
		var x any
		switch {
		case f.Type == durationType:
			x = time.Duration(fv.Int()).String()
		case f.Type == timeType:
			t := fv.Interface().(time.Time)
			if t.IsZero() {
				continue
			}
			x = t
		default:
			switch fv.Kind() {
			case reflect.Bool:
				x = fv.Bool()
			case reflect.String:
				x = fv.String()
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				x = fv.Int()
			case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				x = fv.Uint()
			case reflect.Float32, reflect.Float64:
				f := fv.Float()
				if math.IsNaN(f) || math.IsInf(f, 0) {
					continue // no JSON for them
				}
				x = f
			default:
				continue
			}
		}
		if out == nil {
			out = map[string]any{}
		}
		out[f.Name] = x
	}
	return out
}
