package orca_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/seed41aebe0c/lbkit/orca"
)

func TestFormatWritesEnvoysTextForm(t *testing.T) {
	l := orca.Load{CPUUtilization: 0.3, RPS: 10, EPS: 1, NamedMetrics: map[string]float64{"foo": 2, "bar": -1.5}}
	got, err := orca.Format(l)
	if err != nil {
		t.Fatal(err)
	}
	const want = "TEXT cpu_utilization=0.3,rps_fractional=10,eps=1,named_metrics.bar=-1.5,named_metrics.foo=2"
	if got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	if got, _ := orca.Format(orca.Load{}); got != "TEXT " {
		t.Errorf("Format(zero) = %q, want the bare prefix", got)
	}
}

func TestParseReadsWhatEnvoyAccepts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want orca.Load
	}{
		{"TEXT cpu_utilization=0.3, rps_fractional=10, eps=1, named_metrics.foo=2",
			orca.Load{CPUUtilization: 0.3, RPS: 10, EPS: 1, NamedMetrics: map[string]float64{"foo": 2}}},
		// Envoy's older separator, and every field.
		{"TEXT cpu_utilization:0.7,application_utilization:0.8,mem_utilization:0.9,rps_fractional:1000,eps:2,named_metrics.foo:123,utilization.total:0.5,request_cost.db:3",
			orca.Load{CPUUtilization: 0.7, ApplicationUtilization: 0.8, MemUtilization: 0.9, RPS: 1000, EPS: 2,
				NamedMetrics: map[string]float64{"foo": 123}, Utilization: map[string]float64{"total": 0.5}, RequestCost: map[string]float64{"db": 3}}},
		{"TEXT ", orca.Load{}},
		{"TEXT ,, eps=1,", orca.Load{EPS: 1}},
	} {
		got, err := orca.Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseRejectsWhatEnvoyRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"cpu_utilization=0.3",          // no format prefix
		"BIN CAE=",                     // binary form: not ours
		"TEXT cpu_utilization",         // no value
		"TEXT cpu_utilization=",        // empty value
		"TEXT =0.3",                    // empty name
		"TEXT cpu_utilization=\"0.3\"", // not a number
		"TEXT cpu_utilization=NaN",     // NaN
		"TEXT rps_fractional=Inf",      // infinite
		"TEXT cpu_utilization=-0.1",    // negative standard field
		"TEXT cpu_utilization=0.1,cpu_utilization=0.2", // repeated
		"TEXT named_metrics.a=1,named_metrics.a=2",     // repeated
		"TEXT named_metrics.=1",                        // empty metric name
		"TEXT gpu_utilization=0.5",                     // unknown
	} {
		if l, err := orca.Parse(in); !errors.Is(err, orca.ErrInvalidArgument) {
			t.Errorf("Parse(%q) = %+v, %v; want an error wrapping ErrInvalidArgument", in, l, err)
		}
	}
}

func TestFormatRejectsWhatParseCouldNotRead(t *testing.T) {
	for name, l := range map[string]orca.Load{
		"negative":    {CPUUtilization: -1},
		"NaN":         {RPS: math.NaN()},
		"infinite":    {EPS: math.Inf(1)},
		"NaN metric":  {NamedMetrics: map[string]float64{"a": math.NaN()}},
		"empty name":  {NamedMetrics: map[string]float64{"": 1}},
		"comma name":  {Utilization: map[string]float64{"a,b": 1}},
		"equals name": {RequestCost: map[string]float64{"a=b": 1}},
		"space name":  {NamedMetrics: map[string]float64{"a b": 1}},
	} {
		if s, err := orca.Format(l); !errors.Is(err, orca.ErrInvalidArgument) {
			t.Errorf("%s: Format = %q, %v; want an error wrapping ErrInvalidArgument", name, s, err)
		}
	}
}

func TestFormatParseRoundTrip(t *testing.T) {
	for _, l := range []orca.Load{
		{},
		{CPUUtilization: 1e-300, RPS: 1.7976931348623157e308},
		{ApplicationUtilization: 0.1 + 0.2, MemUtilization: 1.0 / 3, EPS: 5e-324},
		{NamedMetrics: map[string]float64{"queue.depth": -3, "x": 0}, Utilization: map[string]float64{"gpu": 0.25}, RequestCost: map[string]float64{"µs": 12}},
	} {
		s, err := orca.Format(l)
		if err != nil {
			t.Fatalf("Format(%+v): %v", l, err)
		}
		got, err := orca.Parse(s)
		if err != nil {
			t.Fatalf("Parse(Format(%+v)) = Parse(%q): %v", l, s, err)
		}
		if !reflect.DeepEqual(got, l) {
			t.Errorf("round trip of %+v through %q gave %+v", l, s, got)
		}
	}
}

// FuzzParse: whatever Parse accepts formats, and reads back the same; what
// it rejects is an ErrInvalidArgument; it never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"TEXT cpu_utilization=0.3, rps_fractional=10, eps=1, named_metrics.foo=2",
		"TEXT cpu_utilization:0.7,application_utilization:0.8,mem_utilization:0.9,utilization.a=1,request_cost.b=-2",
		"TEXT ", "TEXT ,,", "BIN x", "TEXT eps=1e309", "TEXT named_metrics.a=0x1p-2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := orca.Parse(s)
		if err != nil {
			if !errors.Is(err, orca.ErrInvalidArgument) {
				t.Fatalf("Parse(%q): %v does not wrap ErrInvalidArgument", s, err)
			}
			return
		}
		out, err := orca.Format(l)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, which Format rejects: %v", s, l, err)
		}
		back, err := orca.Parse(out)
		if err != nil || !reflect.DeepEqual(back, l) {
			t.Fatalf("Parse(%q) = %+v; Format gave %q, which parses to %+v, %v", s, l, out, back, err)
		}
		if !strings.HasPrefix(out, "TEXT ") {
			t.Fatalf("Format wrote %q", out)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	const v = "TEXT cpu_utilization=0.3,rps_fractional=10,eps=1,named_metrics.foo=2"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := orca.Parse(v); err != nil {
			b.Fatal(err)
		}
	}
}

// The Reporter formats once per interval, but a caller formatting per
// response can do so without allocating.
func TestAppendFormatWithoutMapsAllocatesNothing(t *testing.T) {
	buf := make([]byte, 0, 128)
	l := orca.Load{CPUUtilization: 0.25, ApplicationUtilization: 0.5, RPS: 100, EPS: 1}
	if n := testing.AllocsPerRun(100, func() { buf, _ = orca.AppendFormat(buf[:0], l) }); n != 0 {
		t.Errorf("AppendFormat allocates %v times", n)
	}
	if got, _ := orca.Parse(string(buf)); !reflect.DeepEqual(got, l) {
		t.Errorf("AppendFormat wrote %q", buf)
	}
}
