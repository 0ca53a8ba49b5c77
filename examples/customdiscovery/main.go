// Command customdiscovery plugs a discovery source of your own into lbkit:
// embed publisher.Fanout, publish complete instance sets, and any balancer
// follows them. Here the "registry" is a file of addresses, re-read when it
// changes. Run: go run ./examples/customdiscovery
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
)

// filePublisher publishes the addresses listed in a file, one per line.
type filePublisher struct {
	publisher.Fanout
	path string
}

func (f *filePublisher) Reload() {
	data, err := os.ReadFile(f.path)
	if err != nil {
		f.Publish(publisher.Event{Err: err}) // keeps the last known set
		return
	}
	f.Publish(publisher.Event{Instances: publisher.FromAddresses(strings.Fields(string(data))...)})
}

func (f *filePublisher) Stop() { f.Close() }

func main() {
	path := filepath.Join(os.TempDir(), "lbkit-customdiscovery.txt")
	defer os.Remove(path)
	os.WriteFile(path, []byte("127.0.0.1:9001\n127.0.0.1:9002\n"), 0o600)
	pub := &filePublisher{path: path}
	pub.Reload()
	factory := func(addr string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) { return addr, nil }, nil, nil
	}
	b, _ := loadbalancer.NewRoundRobin(pub, factory)
	defer b.Close()
	fmt.Println("live:", len(b.Status().Hosts), "instances")

	os.WriteFile(path, []byte("127.0.0.1:9001\n127.0.0.1:9002\n127.0.0.1:9003\n"), 0o600)
	pub.Reload() // a real source would watch the file, or poll its registry
	for len(b.Status().Hosts) != 3 {
		time.Sleep(time.Millisecond) // the balancer applies updates on its own goroutine
	}
	fmt.Println("live:", len(b.Status().Hosts), "instances")
}
