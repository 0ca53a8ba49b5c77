// Package gokit proves the README's migration table: a go-kit v0.13.0
// client, written as go-kit documents it (sd.Instancer, sd.Factory,
// sd.NewEndpointer, lb.NewRoundRobin, lb.Retry), and the same client with
// only its constructor lines changed to lbkit (publisher.FromInstancer,
// loadbalancer.New, retry.Retry) call the same HTTP services on 127.0.0.1
// and return the same results. The two clients stand side by side in
// internal/stringsvc/client.go; integration/dnssrv runs them under go-kit's
// DNS SRV instancer against a real DNS server, integration/consul under
// go-kit's Consul instancer against a real agent.
package gokit
