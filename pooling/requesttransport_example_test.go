package pooling_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"

	"github.com/seed41aebe0c/lbkit/pooling"
)

// A RequestTransport picks a host per request (round-robin here, the
// default) over kept-alive connections.
func ExampleRequestTransport() {
	driver, err := pooling.NewNetDriver("tcp")
	if err != nil {
		panic(err)
	}
	svc, err := pooling.NewService[net.Conn]("web", driver, pooling.WithPrespawn(0))
	if err != nil {
		panic(err)
	}
	defer svc.Close()
	for _, name := range []string{"a", "b"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, name)
		}))
		defer srv.Close()
		svc.Add(srv.Listener.Addr().String())
	}

	rt, err := pooling.NewRequestTransport(svc)
	if err != nil {
		panic(err)
	}
	defer rt.CloseIdleConnections()
	client := &http.Client{Transport: rt}
	var seen string
	for range 6 {
		resp, err := client.Get("http://web/")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen += string(body)
	}
	dialled := 0
	for _, h := range svc.Status().Hosts {
		dialled += int(h.Pool.Dialled)
	}
	fmt.Println(seen == "ababab" || seen == "bababa", "connections:", dialled)
	// Output: true connections: 2
}
