package lbmetrics

import (
	"fmt"

	"github.com/go-kit/kit/metrics"
	"github.com/go-kit/kit/metrics/statsd"

	"github.com/seed41aebe0c/lbkit/grpcpool"
	"github.com/seed41aebe0c/lbkit/herd"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/pooling"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/subset"
)

// Statsd builds lbkit's metrics on a go-kit statsd sender. statsd has no
// labels, so the service's name goes into the metric name
// (PREFIX.SERVICE.balancer.host_requests, ...) and per-host metrics
// aggregate over hosts (a gauge holds the last host reported). Durations
// are statsd timings in milliseconds. The caller runs the sender's
// SendLoop or WriteLoop.
type Statsd struct {
	s      *statsd.Statsd
	prefix string
}

// NewStatsd returns a Statsd that names every metric after prefix. A nil s
// is an error wrapping ErrInvalidArgument.
func NewStatsd(s *statsd.Statsd, prefix string) (*Statsd, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil statsd sender", ErrInvalidArgument)
	}
	return &Statsd{s: s, prefix: prefix}, nil
}

// Service returns the metrics of every lbkit package for the service
// called name, named PREFIX + name + "." + metric.
func (s *Statsd) Service(name string) Set {
	p := s.prefix + name + "."
	c := func(n string) metrics.Counter { return s.s.NewCounter(p+n, 1) }
	g := func(n string) metrics.Gauge { return s.s.NewGauge(p + n) }
	t := func(n string) metrics.Histogram { return millis{s.s.NewTiming(p+n, 1)} }
	return Set{
		Balancer: &loadbalancer.Metrics{
			Requests:        c("balancer.host_requests"),
			Failures:        c("balancer.host_failures"),
			InFlight:        g("balancer.host_in_flight_requests"),
			Score:           g("balancer.host_score_ratio"),
			Latency:         g("balancer.host_latency_ewma_seconds"),
			RequestDuration: t("balancer.host_request_duration"),
			Hosts:           g("balancer.hosts"),
			NoEndpoints:     c("balancer.no_endpoints"),
			FactoryErrors:   c("balancer.factory_errors"),
			Ejections:       c("balancer.host_ejections"),
			Ejected:         g("balancer.ejected_hosts"),
			Ramping:         g("balancer.ramping_hosts"),
			Utilization:     g("balancer.host_reported_utilization_ratio"),
			GroupShare:      g("balancer.group_share_ratio"),
		},
		Retry: &retry.Metrics{
			RequestDuration: t("retry.request_duration"),
			Retries:         c("retry.retried_attempts"),
			BudgetExhausted: c("retry.budget_exhausted"),
			Hedges:          c("retry.hedged_attempts"),
			HedgeWins:       c("retry.hedge_wins"),
			HedgesCapped:    c("retry.hedges_capped"),
		},
		Discovery: &publisher.Metrics{
			Updates:   c("discovery.updates"),
			Errors:    c("discovery.errors"),
			Instances: g("discovery.instances"),
			Invalid:   c("discovery.invalid_instances"),
		},
		Pool: &pooling.Metrics{
			HostsScore:        g("pool.host_score_mean_percent"),
			HostsCount:        g("pool.hosts"),
			ConnsCount:        g("pool.connections"),
			ConnsFails:        c("pool.connection_failures"),
			ConnsPutCount:     c("pool.puts"),
			ConnsGetCount:     c("pool.gets"),
			ConnsGetDelay:     t("pool.get_duration"),
			ConnsGetFails:     c("pool.get_failures"),
			ConnsActivePeriod: t("pool.borrow_duration"),
		},
		Herd: &herd.Metrics{
			Success: c("herd.items_success"),
			Retry:   c("herd.items_retry"),
			Failure: c("herd.items_failure"),
			Size:    g("herd.workers"),
			Busy:    g("herd.busy_workers"),
		},
		GRPCPool: &grpcpool.Metrics{
			Connections:      g("grpcpool.connections"),
			ReadyConnections: g("grpcpool.ready_connections"),
			InFlight:         g("grpcpool.in_flight_requests"),
			ScaleOuts:        c("grpcpool.scale_outs"),
		},
		Subset: &subset.Metrics{
			Rank:     g("subset.rank"),
			Clients:  g("subset.clients"),
			Backends: g("subset.backends"),
			Subset:   g("subset.backends_used"),
			Changes:  c("subset.changes"),
		},
	}
}

// millis adapts a statsd timing (milliseconds) to the seconds lbkit
// observes.
type millis struct{ t *statsd.Timing }

func (m millis) With(kv ...string) metrics.Histogram {
	return millis{m.t.With(kv...).(*statsd.Timing)}
}

func (m millis) Observe(seconds float64) { m.t.Observe(seconds * 1000) }
