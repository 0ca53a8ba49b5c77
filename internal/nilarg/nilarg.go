// Package nilarg tells whether an argument is nil, including a typed nil
// inside an interface, which a plain comparison with nil misses: a nil
// *api.Client, *loadbalancer.Balancer or logger passed as an interface would
// otherwise get past validation and panic on first use, far from the
// mistake. It is the one owner of that check for every lbkit package.
package nilarg

import "reflect"

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
