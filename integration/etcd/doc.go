// Package etcd holds lbkit's integration tests of publisher/etcd (the
// publisher and the registrar) against a real etcd server: etcd's own
// server code (go.etcd.io/etcd/server/v3/embed, the version of the client),
// started in the test process on free 127.0.0.1 ports with short tick and
// election settings, stopped and started again on the same data directory
// and ports. A round-robin balancer over the publisher routes real HTTP
// calls to httptest servers on 127.0.0.1.
//
//	cd integration && go test -race ./etcd/
//
// The tests need nothing installed. See README.md for what is tested and
// the delays measured.
package etcd
