// Command customdiscovery plugs a discovery source of your own (a file) into lbkit.
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

// filePublisher publishes the addresses listed in a file, one per line or space.
type filePublisher struct {
	publisher.Fanout
	path string
}

func (f *filePublisher) Reload() {
	data, err := os.ReadFile(f.path)
	if err != nil {
		f.Publish(publisher.Event{Err: err}) // subscribers keep the last set
		return
	}
	f.Publish(publisher.Event{Instances: publisher.FromAddresses(strings.Fields(string(data))...)})
}
func (f *filePublisher) Stop() { f.Close() }

func main() {
	pub := &filePublisher{path: filepath.Join(os.TempDir(), "lbkit-customdiscovery.txt")}
	defer os.Remove(pub.path)
	update := func(addrs string) { os.WriteFile(pub.path, []byte(addrs), 0o600); pub.Reload() }
	update("127.0.0.1:9001 127.0.0.1:9002")
	b, _ := loadbalancer.New(pub, func(addr string) (endpoint.Endpoint, io.Closer, error) {
		return func(context.Context, any) (any, error) { return addr, nil }, nil, nil
	})
	defer b.Close()
	fmt.Println("live:", len(b.Status().Hosts), "instances")
	update("127.0.0.1:9001 127.0.0.1:9002 127.0.0.1:9003") // a real source would watch the file
	for i := 0; len(b.Status().Hosts) != 3 && i < 5000; i++ {
		time.Sleep(time.Millisecond) // the balancer applies updates on its own goroutine
	}
	fmt.Println("live:", len(b.Status().Hosts), "instances")
}
