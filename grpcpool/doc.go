// Package grpcpool keeps several gRPC client connections to one target and
// spreads calls over them. A *Pool implements grpc.ClientConnInterface, so a
// generated client takes it where it would take a *grpc.ClientConn:
//
//	pool, err := grpcpool.New("orders.internal:9000", grpcpool.WithSize(4))
//	if err != nil { ... }
//	defer pool.Close()
//	client := orderpb.NewOrdersClient(pool)
//
// One HTTP/2 connection multiplexes many calls, but it is served by one TCP
// flow and one reader and writer on each side; a few connections lift that
// ceiling and keep calls going while one of them reconnects.
//
// Each call goes to the least loaded (fewest calls and streams under way)
// of three connections drawn at random, preferring READY connections and
// passing over ones that are connecting or failing while a usable one
// exists. A connection that falls IDLE (after a server's GOAWAY, say) is
// woken in the background. A call that fails as Unavailable before grpc
// gave it a transport, so that nothing was sent, is tried on
// another connection.
//
// Scale-out (WithScaleOut, off by default) checks the load every period and
// adds connections when the calls under way exceed size × the desired
// maximum per connection, up to a cap. The pool does not shrink.
//
// The default dial options (exported Default* constants) favour throughput
// and early detection of dead peers: 256 MiB flow-control windows, 1 GiB
// message limits, and keep-alive pings every 10 s even on idle connections.
// A grpc-go server by default answers such pings with a GOAWAY ("too many
// pings"); servers that pools talk to should allow them:
//
//	grpc.NewServer(grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
//		MinTime:             5 * time.Second,
//		PermitWithoutStream: true,
//	}))
//
// or the client should use WithKeepAlive with an interval the server
// accepts. Connections are plaintext unless WithDialOptions supplies
// transport credentials.
//
// New returns at once, as grpc.NewClient does; WithConnectTimeout makes it
// wait for a READY connection and report an unreachable target
// (ErrUnreachable). A Cache keeps one pool per target, made on first use
// (the reference library's GetGrpcPool). Dial options given with
// WithDialOptions add to the defaults rather than replace them.
//
// A Pool owns its connections and the goroutines that watch them: Close
// ends them all and is safe to call more than once. Bad options or targets
// give errors wrapping ErrInvalidArgument; WithLogger receives connection
// and scale-out events (none are logged by default); WithMetrics reports
// the connections, the ready ones, the calls under way and scale-outs
// through go-kit's metrics interfaces (package lbmetrics builds them).
//
// The package stands beside pooling rather than inside it: pooling keeps
// generic per-host pools of connections that are taken and given back,
// while a gRPC connection is shared by many calls at once, so this pool
// spreads calls over a few shared connections to one target instead. Of
// lbkit's packages it imports only strategy, for DefaultMetricsInterval.
// To balance over several gRPC servers found by discovery, put one Pool
// per instance behind a go-kit endpoint and give those to loadbalancer.
package grpcpool
