#!/bin/sh
# bench.sh runs the benchmarks that compare lbkit with go-kit and puddle,
# each pair in one benchmark file, writes the raw outputs to docs/bench and
# prints benchstat's ratios. Run it on an otherwise idle machine: the
# figures in README.md name the CPU they were measured on.
#
#   scripts/bench.sh [count]   (default 8)
set -eu
cd "$(dirname "$0")/.."
count=${1:-8}
out=docs/bench
mkdir -p "$out"
command -v benchstat >/dev/null 2>&1 || go install golang.org/x/perf/cmd/benchstat@latest
PATH="$PATH:$(go env GOPATH)/bin"
go test -run '^$' -bench 'Endpoint' -benchmem -count "$count" -benchtime 300ms ./loadbalancer >"$out/endpoint.txt"
go test -run '^$' -bench 'Update' -benchmem -count "$count" ./loadbalancer >"$out/update.txt"
go test -run '^$' -bench 'RetrySuccess$|RetryAttempts' -benchmem -count "$count" -benchtime 300ms ./retry >"$out/retry.txt"
# The metrics split is a few percent: run each variant in a process of its
# own, interleaved, so that no variant inherits another's heap and timers
# (in one process the variants' order alone moves them by ±5%).
go test -c -o "$out/.retry.test" ./retry
{
	printf 'goos: %s\ngoarch: %s\npkg: github.com/seed41aebe0c/lbkit/retry\n' "$(go env GOOS)" "$(go env GOARCH)"
	i=0
	while [ "$i" -lt "$count" ]; do
		for v in none balancer retrier-counters retrier both; do
			"$out/.retry.test" -test.run '^$' -test.bench "RetrySuccessMetrics/metrics=$v\$" -test.benchmem -test.count 1 -test.benchtime 300ms | grep -E '^(cpu|Benchmark)'
		done
		for v in none both; do
			"$out/.retry.test" -test.run '^$' -test.bench "RetryHTTPMetrics/metrics=$v\$" -test.benchmem -test.count 1 -test.benchtime 300ms | grep '^Benchmark'
		done
		i=$((i + 1))
	done
} >"$out/metrics-split.txt"
rm -f "$out/.retry.test"
go test -run '^$' -bench 'Observe' -benchmem -count "$count" -benchtime 200ms ./lbmetrics >"$out/observe.txt"
go test -run '^$' -bench 'GetPut' -benchmem -count "$count" -benchtime 300ms ./pooling >"$out/pooling.txt"
go test -run '^$' -bench 'LearningPick|HostSetPick|Record|TierPick|WeightedRoundRobinPick' -benchmem -count "$count" -benchtime 200ms ./strategy >"$out/strategies.txt"
benchstat -col /impl "$out/endpoint.txt"
benchstat -col /impl "$out/update.txt"
benchstat -col /lib "$out/retry.txt"
benchstat -col /metrics "$out/metrics-split.txt"
benchstat -col /impl "$out/observe.txt"
benchstat -col /impl "$out/pooling.txt"
benchstat "$out/strategies.txt"
