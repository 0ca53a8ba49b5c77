// Package nilarg tells whether an argument is nil, including a typed nil
// inside an interface, which a plain comparison with nil misses: a nil
// *api.Client or *clientv3.Client passed as an interface would otherwise
// get past validation and panic on first use, far from the mistake.
package nilarg

import "reflect"

// IsNil reports whether v is nil or holds a nil pointer, map, slice,
// channel, function or interface.
func IsNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
		return rv.IsNil()
	}
	return false
}
