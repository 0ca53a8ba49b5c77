// Package dnssrv holds lbkit's integration tests of publisher/dnssrv
// against a real DNS server: one built on github.com/miekg/dns, serving
// UDP and TCP on 127.0.0.1, whose SRV records the tests change while the
// publisher polls. A round-robin balancer over the publisher routes real
// HTTP calls to httptest servers on 127.0.0.1.
//
//	cd integration && go test -race ./dnssrv/
//
// The tests need nothing installed: the DNS server runs in the test
// process. See README.md for what is tested and the delays measured.
package dnssrv
