// Package consul holds lbkit's integration tests against a real Consul
// agent: publisher/consul and its Registrar, under a round-robin balancer
// that routes real HTTP calls to servers on 127.0.0.1.
//
// The agent is the binary named by LBKIT_CONSUL_BIN, normally built and
// cached by scripts/consul-agent.sh:
//
//	cd integration && LBKIT_CONSUL_BIN=$(../scripts/consul-agent.sh) go test -race ./consul/
//
// Each test starts `consul agent -dev` on 127.0.0.1 with free ports (DNS,
// gRPC and WAN disabled) and a temporary data directory, and kills it at the
// end. Without LBKIT_CONSUL_BIN the tests skip, unless CI=true, where they
// fail. See README.md for what is tested and the propagation delays
// measured.
package consul
