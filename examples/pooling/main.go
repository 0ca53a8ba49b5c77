// Command pooling shows a pooling.Service at work: connections pooled under
// three local echo servers, one of which crashes and comes back. Each
// connection's outcome goes into its host's score, and the status table
// shows the dead host's score fall while the requests succeed through the
// others (all but the one that meets the crash on a connection used a
// moment before, which the test-on-borrow window lends untested), then the
// host being used again once it returns.
//
// With -strategy=epsilon-greedy or -strategy=softmax the service learns from
// the scores (pooly's bandits) and sends the dead host fewer attempts as its
// score falls, where round-robin keeps sending it a third of them. The
// service's host statistics decay over two seconds here (pooly's decay
// duration, set with strategy.WithWindow), so the example's phases are
// short.
//
//	go run ./examples/pooling [-strategy=round-robin|epsilon-greedy|softmax]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/seed41aebe0c/lbkit/pooling"
	"github.com/seed41aebe0c/lbkit/strategy"
)

func main() {
	name := flag.String("strategy", "round-robin", "host selection: round-robin, epsilon-greedy or softmax")
	flag.Parse()
	if err := run(*name); err != nil {
		fmt.Fprintln(os.Stderr, "pooling:", err)
		os.Exit(1)
	}
}

func pick(name string) (strategy.Strategy, error) {
	switch name {
	case "round-robin":
		return strategy.RoundRobin{}, nil
	case "epsilon-greedy":
		return strategy.EpsilonGreedy{Epsilon: 0.1}, nil
	case "softmax":
		return strategy.Softmax{Temperature: 0.1}, nil
	}
	return nil, fmt.Errorf("unknown strategy %q", name)
}

func run(name string) error {
	strat, err := pick(name)
	if err != nil {
		return err
	}
	var servers []*server
	for range 3 {
		s, err := listen("127.0.0.1:0")
		if err != nil {
			return err
		}
		defer s.stop()
		servers = append(servers, s)
	}

	driver, err := pooling.NewNetDriver("tcp", pooling.WithDialTimeout(time.Second),
		pooling.WithReadTimeout(time.Second), pooling.WithWriteTimeout(time.Second))
	if err != nil {
		return err
	}
	svc, err := pooling.NewService[net.Conn]("echo", driver,
		pooling.WithMaxConns(4), pooling.WithConnRetries(1, 10*time.Millisecond),
		pooling.WithHostOptions(strategy.WithWindow(2*time.Second)), pooling.WithStrategy(strat))
	if err != nil {
		return err
	}
	defer svc.Close()
	for _, s := range servers {
		if err := svc.Add(s.addr); err != nil {
			return err
		}
	}

	ctx := context.Background()
	phase := func(title string, n int) error {
		failed := 0
		for range n {
			if err := ping(ctx, svc); err != nil {
				failed++
			}
		}
		fmt.Printf("\n== %s: %d requests, %d failed\n", title, n, failed)
		return report(svc)
	}

	if err := phase("all hosts up", 60); err != nil {
		return err
	}
	fmt.Printf("\ncrashing %s\n", servers[1].addr)
	servers[1].stop()
	if err := phase("one host down", 60); err != nil {
		return err
	}
	fmt.Printf("\nrestarting %s\n", servers[1].addr)
	restarted, err := listen(servers[1].addr)
	if err != nil {
		return err
	}
	defer restarted.stop()
	return phase("host back", 60)
}

// ping borrows a connection, makes one round trip over it and releases it
// with the outcome.
func ping(ctx context.Context, svc *pooling.Service[net.Conn]) (err error) {
	c, err := svc.GetConn(ctx)
	if err != nil {
		return err
	}
	defer func() { c.Release(err, strategy.HostUp) }()
	conn := c.Value()
	if _, err := io.WriteString(conn, "ping\n"); err != nil {
		return err
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return err
	}
	if string(buf) != "ping\n" {
		return errors.New("bad echo")
	}
	return nil
}

func report(svc *pooling.Service[net.Conn]) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "host\tscore\trequests\tfailures\topen\tdialled\tdial fails\tclosed fatal\ttest failed\t")
	for _, h := range svc.Status().Hosts {
		p := h.Pool
		fmt.Fprintf(w, "%s\t%.2f\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", h.Address, h.Score, h.Requests,
			h.Failures, p.Open, p.Dialled, p.DialFailures, p.ClosedFatal, p.ClosedTestFailed)
	}
	return w.Flush()
}

// server is a line-echo server that can crash.
type server struct {
	addr  string
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

func listen(addr string) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &server{addr: ln.Addr().String(), ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			s.wg.Go(func() {
				io.Copy(c, c)
				c.Close()
			})
		}
	})
	return s, nil
}

// stop crashes the server: listener and every connection closed.
func (s *server) stop() {
	s.once.Do(func() {
		s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
}
