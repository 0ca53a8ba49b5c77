// Package lbmetrics builds the metrics of every lbkit package for
// Prometheus or statsd, so that the core packages depend only on go-kit's
// metrics interfaces and a program that uses neither backend builds
// neither.
//
// One call per namespace registers every metric family once
// (NewPrometheus) or fixes the name prefix (NewStatsd); Service then binds
// a service's name and returns a Set holding the *Metrics of a balancer
// (loadbalancer.WithMetrics), a Retrier (retry.WithMetrics), discovery
// (a publisher's SetMetrics), connection pools (pooling.WithMetrics), a
// herd (herd.WithMetrics), a gRPC pool (grpcpool.WithMetrics) and a
// subsetting publisher (subset.Publisher's SetMetrics), all for
// that service:
//
//	pm, err := lbmetrics.NewPrometheus(prometheus.DefaultRegisterer, "myapp")
//	users := pm.Service("users")
//	b, err := loadbalancer.New(pub, factory, loadbalancer.WithMetrics(users.Balancer))
//	r, err := retry.New(b, retry.WithMetrics(users.Retry))
//
// Prometheus names follow the Prometheus naming guide: the namespace, the
// subsystem (balancer, retry, discovery, pool, herd, grpcpool), base units in the
// name (_seconds, _ratio) and _total on counters. The service's name and
// the host are labels ("service", "host"), never part of a name, so one
// query aggregates across services. Request, attempt and connection
// durations are histograms with bounds on powers of two of nanoseconds
// (LatencyBuckets). Every series that does not depend on a
// host exists from Service on, at zero, so that an alert on it (no
// endpoints, budget exhausted, hedges, ...) has a series before it first
// fires; per-host series appear when the host joins.
//
// The Prometheus metrics record without locks or allocations: each With
// resolves its series once, and Add, Set and Observe are atomic updates of
// that series; an Observe is two atomic adds into a
// strategy.LatencyCounter, with no bucket search. (go-kit's own
// metrics/prometheus builds a label map on every call.) The per-host
// request duration histograms are strategy.LatencySinks: a balancer adds
// its hosts' own latency records to them every metrics interval instead of
// observing each call, so they cost the request path nothing, and a scrape
// sees calls up to strategy.DefaultMetricsInterval late. docs/metrics.md
// has the table of names, types and labels.
package lbmetrics
