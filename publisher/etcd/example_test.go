package etcd_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/publisher/etcd"
)

// Both value forms decode into an Instance; EncodeValue picks the plain one
// when it says everything.
func ExampleDecodeValue() {
	for _, v := range []string{
		"10.0.0.1:8080",
		`{"address":"10.0.0.2:8080","weight":3,"priority":1,"metadata":{"zone":"eu-1"}}`,
		"10.0.0.3", // no port: skipped by the publisher, with a warning
	} {
		in, err := etcd.DecodeValue([]byte(v))
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("%s weight=%d priority=%d zone=%q\n", in.Address, in.Weight, in.Priority, in.Metadata["zone"])
	}
	plain, _ := etcd.EncodeValue(publisher.Instance{Address: "10.0.0.4:8080"})
	rich, _ := etcd.EncodeValue(publisher.Instance{Address: "10.0.0.4:8080", Weight: 2})
	fmt.Println(plain)
	fmt.Println(rich)
	// Output:
	// 10.0.0.1:8080 weight=0 priority=0 zone=""
	// 10.0.0.2:8080 weight=3 priority=1 zone="eu-1"
	// error: etcd: malformed instance value: address "10.0.0.3": address 10.0.0.3: missing port in address
	// 10.0.0.4:8080
	// {"address":"10.0.0.4:8080","weight":2}
}

// A client with TLS and a user name: the publisher and the registrar take
// it as it is. The publisher follows every key under /services/api/; the
// registrar keeps this process's key there while it runs.
func Example() {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{"https://etcd-1.internal:2379"},
		DialTimeout: 5 * time.Second,
		TLS:         &tls.Config{MinVersion: tls.VersionTLS12}, // plus RootCAs / client certificates
		Username:    "lbkit",
		Password:    "secret",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()

	reg, err := etcd.NewRegistrar(cli, "/services/api/10.0.0.7:8080",
		publisher.Instance{Address: "10.0.0.7:8080", Weight: 2},
		etcd.WithTTL(10*time.Second),
		etcd.WithErrorHandler(func(err error) { log.Println("registrar:", err) }))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := reg.Register(ctx); err != nil {
		log.Fatal(err)
	}
	defer reg.Stop() // deletes the key, revokes the lease

	p, err := etcd.NewPublisher(cli, "/services/api/")
	if err != nil {
		log.Fatal(err)
	}
	defer p.Stop()
	_ = p.Subscribe() // hand p to loadbalancer.New instead
}
