# lbkit's build and test entry points. `make test` is what CI runs
# (.ci/run calls it and nothing else), so everything it needs it installs
# itself: the real servers the integration tests talk to are built or
# started here, on 127.0.0.1 only.

GO        ?= go
# Integration tests live in a nested module so that etcd's server and
# Consul's agent stay out of the library's go.mod.
INTEG     := integration

.PHONY: test fmt-check vet unit integration servers consumer-smoke bench bench-compare demo registry

test: fmt-check vet servers unit integration consumer-smoke

fmt-check:
	@out=$$(gofmt -l . ); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@echo "gofmt: clean"

vet:
	$(GO) vet ./...
	cd $(INTEG) && $(GO) vet ./...

# servers installs what the integration tests start on 127.0.0.1: the
# Consul agent (built once from the Go module proxy, cached under
# $$HOME/.cache/lbkit) and Debian's chromium for the status page test. etcd
# runs embedded in the test process and DNS is an in-process miekg/dns
# server, so they need no install. Debian's prometheus package gives the
# lbmetrics exposition test its promtool (the server is not started).
servers:
	@scripts/install-chromium.sh
	@scripts/install-promtool.sh
	@scripts/consul-agent.sh >/dev/null

unit:
	$(GO) test -race -count=1 ./...

integration:
	cd $(INTEG) && LBKIT_CONSUL_BIN=$$(../scripts/consul-agent.sh) $(GO) test -race -count=1 -timeout 15m ./...

# consumer-smoke plays a new user: a throwaway module outside the repository
# requires go-kit v0.13.0 and lbkit (replace => this checkout), imports every
# public package, and must pass go mod tidy and go build with no manual step.
consumer-smoke:
	@GO=$(GO) scripts/consumer-smoke.sh

# bench runs every benchmark once; see README for the comparison commands.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# bench-compare runs the go-kit and puddle comparisons into docs/bench and
# prints the benchstat ratios the README quotes (idle machine, ~10 minutes).
bench-compare:
	@scripts/bench.sh

demo:
	$(GO) run ./examples/demo

# registry runs a Consul dev agent on 127.0.0.1:8500 in the foreground, for
# examples/kitservice (go run ./examples/kitservice -registry consul).
# Consul is BUSL-licensed: the binary is built for local use only.
registry:
	$$(scripts/consul-agent.sh) agent -dev -bind 127.0.0.1 -client 127.0.0.1 -dns-port -1 -grpc-port -1 -serf-wan-port -1
