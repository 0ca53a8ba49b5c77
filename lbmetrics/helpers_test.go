package lbmetrics_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// echoServers starts n line-echo servers on 127.0.0.1, stopped when the
// test ends.
func echoServers(tb testing.TB, n int) []string {
	tb.Helper()
	var addrs []string
	var lns []net.Listener
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
				wg.Go(func() {
					defer c.Close()
					io.Copy(c, c)
				})
			}
		})
	}
	tb.Cleanup(func() {
		for _, ln := range lns {
			ln.Close()
		}
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return addrs
}

// roundTrip writes a line over c and reads the echo.
func roundTrip(c net.Conn, line string) (string, error) {
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	reply, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSuffix(reply, "\n"), err
}
