package lbmetrics

import (
	"github.com/seed41aebe0c/lbkit/grpcpool"
	"github.com/seed41aebe0c/lbkit/herd"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/pooling"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/subset"
)

// Set is the metrics of every lbkit package for one service, each ready
// for its package's WithMetrics (a publisher's SetMetrics for Discovery, a
// subset.Publisher's SetMetrics for Subset).
type Set struct {
	Balancer  *loadbalancer.Metrics
	Retry     *retry.Metrics
	Discovery *publisher.Metrics
	Pool      *pooling.Metrics
	Herd      *herd.Metrics
	GRPCPool  *grpcpool.Metrics
	Subset    *subset.Metrics
}
