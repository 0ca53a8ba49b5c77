//go:build !unix

package pooling

import "net"

// checkIdle cannot peek without blocking here; the first use of a dead
// connection fails instead, and Put closes it.
func checkIdle(net.Conn) error { return nil }
