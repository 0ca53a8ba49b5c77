// Package static is a Publisher over a list of instances that the caller
// owns: fixed at construction, and replaceable at runtime with Replace (for
// tests, and for users who push their own updates). It starts no goroutine.
//
// Every invalid argument (an instance without an address, a negative
// weight, a duplicate address, Fail without an error) is an error wrapping
// ErrInvalidArgument, which wraps publisher.ErrInvalidArgument.
package static
