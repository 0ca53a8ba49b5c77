// Package nilarg tells whether an argument is nil, including a typed nil
// inside an interface, which a plain comparison with nil misses: a nil
// *api.Client, *loadbalancer.Balancer or logger passed as an interface would
// otherwise get past validation and panic on first use, far from the
// mistake. It is the one owner of that check for every lbkit package.
package nilarg

import (
	"fmt"
	"reflect"
)

// IsNil reports whether v is nil or holds a nil pointer, channel,
// function or interface: the values that panic on use. A nil slice or map
// is usable (go-kit's sd.FixedInstancer(nil) serves no instances), so it
// is not nil here.
func IsNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
		return rv.IsNil()
	}
	return false
}

// NilField returns a description of the first field of the struct s points
// to that holds a typed nil ("Metrics.Hosts holds a nil *kitprometheus.Gauge"),
// or "" if none does. Nil fields are fine: the packages' Metrics structs
// record nothing for them, but a typed nil would panic when recorded to.
// It is the one owner of that check for every package's WithMetrics.
func NilField(s any) string {
	v := reflect.ValueOf(s)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return ""
	}
	v = v.Elem()
	for i := range v.NumField() {
		if !v.Type().Field(i).IsExported() {
			continue
		}
		if f := v.Field(i).Interface(); f != nil && IsNil(f) {
			return fmt.Sprintf("%s.%s holds a nil %T", v.Type().Name(), v.Type().Field(i).Name, f)
		}
	}
	return ""
}
