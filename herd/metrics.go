package herd

// Metric names, without namespace: a herd's metrics are
// NAMESPACE_success_total and so on, so that with the namespace "gofherd"
// they are gofherd's (gofherd_success_total, gofherd_retry_total,
// gofherd_failure_total), and dashboards built for gofherd keep working.
const (
	// MetricSuccess counts items that succeeded (Metrics.Success).
	MetricSuccess = "success_total"
	// MetricRetry counts retries granted (Metrics.Retry).
	MetricRetry = "retry_total"
	// MetricFailure counts items that failed (Metrics.Failure).
	MetricFailure = "failure_total"
	// MetricSize is the herd's size (Metrics.Size); gofherd had none.
	MetricSize = "size"
	// MetricBusy is the number of workers processing an item
	// (Metrics.Busy); gofherd had none.
	MetricBusy = "busy"
)
