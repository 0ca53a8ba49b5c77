package etcd

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
)

// RedialInterval is how often a Publisher or Registrar asks the client's
// connection to try the server again while it is down (a Registrar with a
// TTL under 2s asks every quarter TTL). gRPC's own reconnect back-off grows
// to two minutes by default, while the leases etcd restores after a
// restart live only their TTL: without this, a registrar would find its
// lease expired, and its instance gone from every balancer, before its
// client even tried the restarted server.
const RedialInterval = 500 * time.Millisecond

// connected is what *clientv3.Client has beyond Client and
// RegistrarClient: its gRPC connection, whose state tells when the server
// went away and came back.
type connected interface {
	ActiveConnection() *grpc.ClientConn
}

// connOf returns c's gRPC connection, or nil when c does not expose one.
func connOf(c any) *grpc.ClientConn {
	if cc, ok := c.(connected); ok {
		return cc.ActiveConnection()
	}
	return nil
}

// followConn follows conn's state until ctx ends. While the connection is
// not ready it asks for a new attempt every pace; each time it becomes
// ready after having been lost, it calls back.
func followConn(ctx context.Context, conn *grpc.ClientConn, pace time.Duration, back func()) {
	prev, lost := conn.GetState(), false
	for prev != connectivity.Shutdown { // the client was closed: nothing to follow
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if prev != connectivity.Ready {
			wctx, cancel = context.WithTimeout(ctx, pace)
		}
		changed := conn.WaitForStateChange(wctx, prev)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if !changed { // still down after pace: try now, not at gRPC's next back-off
			conn.ResetConnectBackoff()
			conn.Connect()
			continue
		}
		// Leaving Ready is a loss even if Ready is back before we look.
		lost = lost || prev == connectivity.Ready
		cur := conn.GetState()
		if cur == connectivity.Ready && lost {
			lost = false
			back()
		}
		prev = cur
	}
}

// token leaves one token in ch without blocking: one pending is enough.
func token(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
