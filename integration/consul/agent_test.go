package consul

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// agentStartTimeout bounds the wait for a started agent to have a leader.
// A dev agent usually has one within half a second; the margin is for a
// loaded 2-core machine.
const agentStartTimeout = 30 * time.Second

// consulBinary returns the agent binary from LBKIT_CONSUL_BIN. Unset, the
// test skips, except under CI=true where a missing agent must not pass
// silently.
func consulBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("LBKIT_CONSUL_BIN")
	if bin == "" {
		const how = "build it with scripts/consul-agent.sh (5-9 minutes once, then cached) and run " +
			"`cd integration && LBKIT_CONSUL_BIN=$(../scripts/consul-agent.sh) go test ./consul/`"
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but LBKIT_CONSUL_BIN is not set: " + how)
		}
		t.Skip("LBKIT_CONSUL_BIN is not set, no Consul agent to test against: " + how)
	}
	fi, err := os.Stat(bin)
	if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("LBKIT_CONSUL_BIN=%q is not an executable file (%v)", bin, err)
	}
	return bin
}

// agent is one `consul agent -dev` process on 127.0.0.1. Its ports and data
// directory survive kill and start, so a restarted agent is reachable where
// the old one was and restores the services registered with it, as a
// production agent with a data directory does.
type agent struct {
	t       *testing.T
	bin     string
	dataDir string
	http    int
	serfLAN int
	server  int
	log     *lockedBuffer
	http1   *http.Client // for the test's own status calls

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// startAgent starts an agent and waits for it to have a leader. The agent
// is killed when the test ends.
func startAgent(t *testing.T) *agent {
	t.Helper()
	a := &agent{
		t:       t,
		bin:     consulBinary(t),
		dataDir: t.TempDir(),
		log:     &lockedBuffer{},
		http1:   &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second},
	}
	t.Cleanup(func() {
		a.kill()
		a.http1.CloseIdleConnections()
		if t.Failed() {
			t.Logf("consul agent output (last 4KiB):\n%s", a.log.tail(4096))
		}
	})
	// A free port can be taken by someone else between our probe and the
	// agent's bind; a few fresh tries make that harmless.
	var err error
	for range 3 {
		a.http, a.serfLAN, a.server = freePort(t, false), freePort(t, true), freePort(t, false)
		if err = a.start(); err == nil {
			return a
		}
		t.Logf("agent start: %v; retrying on other ports", err)
	}
	t.Fatalf("consul agent did not start: %v\n%s", err, a.log.tail(4096))
	return nil
}

// Addr is the agent's HTTP address.
func (a *agent) Addr() string { return "127.0.0.1:" + strconv.Itoa(a.http) }

// start runs the agent on a's ports and data directory and waits for a
// leader.
func (a *agent) start() error {
	a.mu.Lock()
	if a.cmd != nil {
		a.mu.Unlock()
		return errors.New("agent already running")
	}
	cmd := exec.Command(a.bin, "agent", "-dev",
		"-node", "lbkit-it",
		"-bind", "127.0.0.1", "-client", "127.0.0.1", "-advertise", "127.0.0.1",
		"-data-dir", a.dataDir,
		"-http-port", strconv.Itoa(a.http),
		"-serf-lan-port", strconv.Itoa(a.serfLAN),
		"-server-port", strconv.Itoa(a.server),
		"-dns-port", "-1", "-grpc-port", "-1", "-grpc-tls-port", "-1", "-serf-wan-port", "-1",
		"-log-level", "warn",
	)
	cmd.Stdout, cmd.Stderr = a.log, a.log
	if err := cmd.Start(); err != nil {
		a.mu.Unlock()
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	a.cmd, a.exited = cmd, exited
	a.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), agentStartTimeout)
	defer cancel()
	for {
		if a.hasLeader(ctx) {
			return nil
		}
		select {
		case <-exited:
			a.mu.Lock()
			a.cmd = nil
			a.mu.Unlock()
			return fmt.Errorf("agent exited during start-up: %v", cmd.ProcessState)
		case <-ctx.Done():
			a.kill()
			return fmt.Errorf("no leader within %v", agentStartTimeout)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Restart starts the agent again after Kill, on the same ports and data.
func (a *agent) Restart() {
	a.t.Helper()
	if err := a.start(); err != nil {
		a.t.Fatalf("agent restart: %v", err)
	}
}

// Kill stops the agent the hard way, as a crash or an OOM kill would, and
// waits for the process to be gone.
func (a *agent) kill() {
	a.mu.Lock()
	cmd, exited := a.cmd, a.exited
	a.cmd = nil
	a.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

func (a *agent) hasLeader(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+a.Addr()+"/v1/status/leader", nil)
	if err != nil {
		return false
	}
	resp, err := a.http1.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK && strings.Contains(string(body), "127.0.0.1:")
}

// freePort returns a port on 127.0.0.1 that was free for TCP (and UDP too,
// for Serf, which uses both) a moment ago.
func freePort(t *testing.T, udpToo bool) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if udpToo {
			u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				l.Close()
				continue
			}
			u.Close()
		}
		l.Close()
		return port
	}
	t.Fatal("no free port on 127.0.0.1")
	return 0
}

// lockedBuffer collects the agent's output from its two pipes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}
