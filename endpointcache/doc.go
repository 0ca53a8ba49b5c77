// Package endpointcache turns discovered instances into go-kit endpoints and
// keeps them until they disappear.
//
// A Cache calls its Factory (the same signature as go-kit's sd.Factory, so
// existing factories work unchanged) once per new instance, closes an
// instance's endpoint exactly once when the instance leaves or the cache is
// closed, and publishes each resulting set as an immutable Snapshot swapped
// atomically, so readers never lock.
//
// Compared with go-kit's sd endpoint cache: Close releases every endpoint
// (go-kit's leaks them), an instance whose factory call failed is tried again
// on the next update (go-kit forgets it until the set changes), a discovery
// error keeps the last known endpoints unless InvalidateOnError is set, and an
// update that changes one instance out of a thousand costs one factory call
// and a few microseconds.
package endpointcache
