package orca_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/seed41aebe0c/lbkit/orca"
)

// The JSON form, as Envoy reads it: an OrcaLoadReport in protocol
// buffers' JSON mapping, with either spelling of the field names.
func TestParseReadsTheJSONForm(t *testing.T) {
	full := orca.Load{
		CPUUtilization: 0.3, MemUtilization: 0.5, ApplicationUtilization: 0.7, RPS: 10.5, EPS: 1,
		NamedMetrics: map[string]float64{"queue depth": 4}, Utilization: map[string]float64{"gpu": 0.9},
		RequestCost: map[string]float64{"db": 2},
	}
	for _, c := range []struct {
		in   string
		want orca.Load
	}{
		{`JSON {"cpuUtilization":0.3,"memUtilization":0.5,"applicationUtilization":0.7,"rpsFractional":10.5,"eps":1,` +
			`"namedMetrics":{"queue depth":4},"utilization":{"gpu":0.9},"requestCost":{"db":2}}`, full},
		{`JSON {"cpu_utilization":0.3,"mem_utilization":0.5,"application_utilization":0.7,"rps_fractional":10.5,"eps":1,` +
			`"named_metrics":{"queue depth":4},"utilization":{"gpu":0.9},"request_cost":{"db":2}}`, full},
		{`JSON { "cpuUtilization": "0.3", "rps": "12" }`, orca.Load{CPUUtilization: 0.3, RPS: 12}}, // strings; the deprecated rps
		{`JSON {"rps":12,"rpsFractional":10.5}`, orca.Load{RPS: 10.5}},                             // rps_fractional wins
		{`JSON {}`, orca.Load{}},
		{`JSON {"namedMetrics":{}}`, orca.Load{}},
	} {
		got, err := orca.Parse(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%s) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	r, err := orca.Parse(`JSON {"cpuUtilization":0.3,"rpsFractional":10,"eps":1}`)
	if err != nil || r.Report().CPUUtilization != 0.3 || r.Report().RPS != 10 || r.Report().EPS != 1 {
		t.Errorf("report %+v, %v", r.Report(), err)
	}
}

func TestParseRejectsBadJSON(t *testing.T) {
	for _, in := range []string{
		`JSON `,
		`JSON {`,
		`JSON []`,
		`JSON {"cpuUtilization":0.3} {}`, // two values
		`JSON {"cpuUtilization":0.3,"cpu_utilization":0.3}`, // one field twice
		`JSON {"gpuUtilization":0.5}`,                       // unknown
		`JSON {"cpuUtilization":-0.1}`,                      // negative standard field
		`JSON {"cpuUtilization":"NaN"}`,                     // not finite
		`JSON {"eps":"Infinity"}`,                           // not finite
		`JSON {"eps":true}`,                                 // not a number
		`JSON {"namedMetrics":{"":1}}`,                      // empty name
		`JSON {"namedMetrics":{"a":"x"}}`,                   // not a number
		`JSON {"namedMetrics":[1]}`,                         // not a map
	} {
		if l, err := orca.Parse(in); !errors.Is(err, orca.ErrInvalidArgument) {
			t.Errorf("Parse(%s) = %+v, %v; want an error wrapping ErrInvalidArgument", in, l, err)
		}
	}
}
