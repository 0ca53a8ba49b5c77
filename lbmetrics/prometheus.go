package lbmetrics

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/go-kit/kit/metrics"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed41aebe0c/lbkit/grpcpool"
	"github.com/seed41aebe0c/lbkit/herd"
	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/pooling"
	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/retry"
	"github.com/seed41aebe0c/lbkit/subset"
)

// ErrInvalidArgument is wrapped by every error about an invalid argument.
var ErrInvalidArgument = errors.New("lbmetrics: invalid argument")

// ErrAlreadyRegistered is wrapped by NewPrometheus's error when the
// registerer has a metric of the same name already, such as when
// NewPrometheus ran twice for one namespace.
var ErrAlreadyRegistered = errors.New("lbmetrics: metric registered already")

// validName is a Prometheus metric name in the classic character set,
// which every scraper accepts.
var validName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Prometheus holds the metric families of one namespace, registered once.
// Service binds them to a service's name. It is safe for concurrent use.
type Prometheus struct {
	// balancer
	hosts, noEndpoints, factoryErrors                   family
	hostRequests, hostFailures, hostInFlight, hostScore family
	hostLatency, hostDuration                           family
	hostEjections, ejected, ramping                     family
	hostUtilization, groupShare                         family
	// retry
	requestDuration, retries, budgetExhausted family
	hedges, hedgeWins, hedgesCapped           family
	// discovery
	updates, discoveryErrors, instances, invalid family
	// pool
	poolHosts, poolScore, poolConns, poolConnFailures    family
	poolPuts, poolGets, poolGetFailures, poolGetDuration family
	poolBorrowDuration                                   family
	// herd
	herdItems, herdWorkers, herdBusy family
	// grpcpool
	grpcConns, grpcReady, grpcInFlight, grpcScaleOuts family
	// subset
	subsetRank, subsetClients, subsetBackends, subsetSize, subsetChanges family
}

// family is one registered vector and its label names.
type family struct {
	vec    any // *prometheus.CounterVec, *prometheus.GaugeVec or *histogramVec
	labels []string
}

// NewPrometheus registers every lbkit metric family of namespace with reg
// (the table is in docs/metrics.md). If a name is taken already, nothing
// of this call stays registered, and the one error wraps
// ErrAlreadyRegistered and names the first clash. A nil reg, or a
// namespace that is not a Prometheus name ([a-zA-Z_][a-zA-Z0-9_]*, or
// empty), is an error wrapping ErrInvalidArgument.
func NewPrometheus(reg prometheus.Registerer, namespace string) (*Prometheus, error) {
	if nilarg.IsNil(reg) {
		return nil, fmt.Errorf("%w: nil prometheus registerer", ErrInvalidArgument)
	}
	if namespace != "" && !validName.MatchString(namespace) {
		return nil, fmt.Errorf("%w: namespace %q is not a Prometheus name", ErrInvalidArgument, namespace)
	}
	var cs []prometheus.Collector
	var names []string
	fq := func(sub, name string) string {
		names = append(names, prometheus.BuildFQName(namespace, sub, name))
		return name
	}
	svc := []string{"service"}
	perHost := []string{"service", "host"}
	counter := func(sub, name, help string, labels []string) family {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: sub, Name: fq(sub, name), Help: help}, labels)
		cs = append(cs, v)
		return family{v, labels}
	}
	gauge := func(sub, name, help string, labels []string) family {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Subsystem: sub, Name: fq(sub, name), Help: help}, labels)
		cs = append(cs, v)
		return family{v, labels}
	}
	histogram := func(sub, name, help string, bounds []int, labels []string) family {
		v := newHistogramVec(prometheus.BuildFQName(namespace, sub, fq(sub, name)), help, labels, bounds)
		cs = append(cs, v)
		return family{v, labels}
	}
	p := &Prometheus{
		hosts:         gauge("balancer", "hosts", "Live hosts of the balancer.", svc),
		noEndpoints:   counter("balancer", "no_endpoints_total", "Picks that found no live host.", svc),
		factoryErrors: counter("balancer", "factory_errors_total", "Factory calls that failed: an error, a nil endpoint or a panic.", svc),
		hostRequests:  counter("balancer", "host_requests_total", "Calls started through each host.", perHost),
		hostFailures:  counter("balancer", "host_failures_total", "Calls through each host that failed.", perHost),
		hostInFlight:  gauge("balancer", "host_in_flight_requests", "Calls under way, per host.", perHost),
		hostScore:     gauge("balancer", "host_score_ratio", "Decayed mean outcome score of each host, 0 to 1.", perHost),
		hostLatency:   gauge("balancer", "host_latency_ewma_seconds", "Decayed mean call latency of each host, as the strategy sees it.", perHost),
		hostDuration:  histogram("balancer", "host_request_duration_seconds", "Duration of each call through a host: one attempt.", latencyBounds, perHost),
		hostEjections: counter("balancer", "host_ejections_total", "Outlier ejections of each host, by reason (strategy.WithOutlierEjection).", []string{"service", "host", "reason"}),
		ejected:       gauge("balancer", "ejected_hosts", "Hosts ejected as outliers now.", svc),
		ramping:       gauge("balancer", "ramping_hosts", "Hosts in slow start now (strategy.WithSlowStart).", svc),

		hostUtilization: gauge("balancer", "host_reported_utilization_ratio", "Utilization each host last reported about itself (ORCA), 0 to 1 or above.", perHost),
		groupShare:      gauge("balancer", "group_share_ratio", "Share of picks given to each priority tier, or zone within a tier, 0 to 1.", []string{"service", "priority", "zone"}),

		requestDuration: histogram("retry", "request_duration_seconds", "Duration of each call through the Retrier, every attempt and wait included.", latencyBounds, svc),
		retries:         counter("retry", "retried_attempts_total", "Attempts started after a failed one.", svc),
		budgetExhausted: counter("retry", "budget_exhausted_total", "Calls ended because the retry budget was spent.", svc),
		hedges:          counter("retry", "hedged_attempts_total", "Hedged attempts started.", svc),
		hedgeWins:       counter("retry", "hedge_wins_total", "Calls whose successful attempt was a hedge.", svc),
		hedgesCapped:    counter("retry", "hedges_capped_total", "Hedges not started because of the hedge cap.", svc),

		updates:         counter("discovery", "updates_total", "Discovery events published, errors included.", svc),
		discoveryErrors: counter("discovery", "errors_total", "Discovery events that carried an error.", svc),
		instances:       gauge("discovery", "instances", "Instances in the latest discovery event.", svc),
		invalid:         counter("discovery", "invalid_instances_total", "Instances left out of discovery events because they failed validation.", svc),

		poolHosts:          gauge("pool", "hosts", "Hosts of a pooling Service.", svc),
		poolScore:          gauge("pool", "host_score_mean_ratio", "Mean score of a pooling Service's hosts, 0 to 1.", svc),
		poolConns:          gauge("pool", "connections", "Connections open.", perHost),
		poolConnFailures:   counter("pool", "connection_failures_total", "Failed dials and connections given back with an error.", perHost),
		poolPuts:           counter("pool", "puts_total", "Connections given back.", perHost),
		poolGets:           counter("pool", "gets_total", "Connection requests.", perHost),
		poolGetFailures:    counter("pool", "get_failures_total", "Connection requests that failed.", perHost),
		poolGetDuration:    histogram("pool", "get_duration_seconds", "Time to get a connection.", poolBounds, perHost),
		poolBorrowDuration: histogram("pool", "borrow_duration_seconds", "Time a connection stayed borrowed.", latencyBounds, perHost),

		herdItems:   counter("herd", "items_total", "Items processed, by outcome (success, retry, failure).", []string{"service", "outcome"}),
		herdWorkers: gauge("herd", "workers", "Workers of the herd.", svc),
		herdBusy:    gauge("herd", "busy_workers", "Workers processing an item.", svc),

		grpcConns:     gauge("grpcpool", "connections", "Connections in the gRPC pool.", svc),
		grpcReady:     gauge("grpcpool", "ready_connections", "Connections of the gRPC pool in the READY state.", svc),
		grpcInFlight:  gauge("grpcpool", "in_flight_requests", "Calls and streams under way on the gRPC pool.", svc),
		grpcScaleOuts: counter("grpcpool", "scale_outs_total", "Times scale-out grew the gRPC pool.", svc),

		subsetRank:     gauge("subset", "rank", "This client's rank among the clients that share the backends (deterministic subsetting).", svc),
		subsetClients:  gauge("subset", "clients", "Clients that share the backends.", svc),
		subsetBackends: gauge("subset", "backends", "Backends the upstream discovery offers.", svc),
		subsetSize:     gauge("subset", "backends_used", "Backends in this client's subset.", svc),
		subsetChanges:  counter("subset", "changes_total", "Backends that entered or left this client's subset.", svc),
	}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("%w: %s (call NewPrometheus once per namespace and registerer, then Service per service): %v",
				ErrAlreadyRegistered, names[i], err)
		}
	}
	return p, nil
}

// Service returns the metrics of every lbkit package for the service
// called name, which every series carries as its "service" label. The
// series that do not depend on a host exist, at zero, from this call on.
// Calling it twice with one name returns metrics on the same series.
func (p *Prometheus) Service(name string) Set {
	c := func(f family, kv ...string) metrics.Counter {
		return newCounter(f, append([]string{"service", name}, kv...))
	}
	g := func(f family) metrics.Gauge { return newGauge(f, []string{"service", name}) }
	h := func(f family) metrics.Histogram { return newHistogram(f, []string{"service", name}) }
	return Set{
		Balancer: &loadbalancer.Metrics{
			Requests:        c(p.hostRequests),
			Failures:        c(p.hostFailures),
			InFlight:        g(p.hostInFlight),
			Score:           g(p.hostScore),
			Latency:         g(p.hostLatency),
			RequestDuration: h(p.hostDuration),
			Hosts:           g(p.hosts),
			NoEndpoints:     c(p.noEndpoints),
			FactoryErrors:   c(p.factoryErrors),
			Ejections:       c(p.hostEjections),
			Ejected:         g(p.ejected),
			Ramping:         g(p.ramping),
			Utilization:     g(p.hostUtilization),
			GroupShare:      g(p.groupShare),
		},
		Retry: &retry.Metrics{
			RequestDuration: h(p.requestDuration),
			Retries:         c(p.retries),
			BudgetExhausted: c(p.budgetExhausted),
			Hedges:          c(p.hedges),
			HedgeWins:       c(p.hedgeWins),
			HedgesCapped:    c(p.hedgesCapped),
		},
		Discovery: &publisher.Metrics{
			Updates:   c(p.updates),
			Errors:    c(p.discoveryErrors),
			Instances: g(p.instances),
			Invalid:   c(p.invalid),
		},
		Pool: &pooling.Metrics{
			HostsScore:        percentToRatio{g(p.poolScore)},
			HostsCount:        g(p.poolHosts),
			ConnsCount:        g(p.poolConns),
			ConnsFails:        c(p.poolConnFailures),
			ConnsPutCount:     c(p.poolPuts),
			ConnsGetCount:     c(p.poolGets),
			ConnsGetDelay:     h(p.poolGetDuration),
			ConnsGetFails:     c(p.poolGetFailures),
			ConnsActivePeriod: h(p.poolBorrowDuration),
		},
		Herd: &herd.Metrics{
			Success: c(p.herdItems, "outcome", "success"),
			Retry:   c(p.herdItems, "outcome", "retry"),
			Failure: c(p.herdItems, "outcome", "failure"),
			Size:    g(p.herdWorkers),
			Busy:    g(p.herdBusy),
		},
		GRPCPool: &grpcpool.Metrics{
			Connections:      g(p.grpcConns),
			ReadyConnections: g(p.grpcReady),
			InFlight:         g(p.grpcInFlight),
			ScaleOuts:        c(p.grpcScaleOuts),
		},
		Subset: &subset.Metrics{
			Rank:     g(p.subsetRank),
			Clients:  g(p.subsetClients),
			Backends: g(p.subsetBackends),
			Subset:   g(p.subsetSize),
			Changes:  c(p.subsetChanges),
		},
	}
}
