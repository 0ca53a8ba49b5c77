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
go test -run '^$' -bench 'RetrySuccessMetrics' -benchmem -count "$count" -benchtime 300ms ./retry >"$out/metrics-split.txt"
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
