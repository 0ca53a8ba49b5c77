package etcd

import (
	"fmt"
	"slices"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/seed41aebe0c/lbkit/integration/internal/lbtest"
	"github.com/seed41aebe0c/lbkit/loadbalancer"
	"github.com/seed41aebe0c/lbkit/publisher"
	etcdpub "github.com/seed41aebe0c/lbkit/publisher/etcd"
	"github.com/seed41aebe0c/lbkit/strategy"
	"github.com/seed41aebe0c/lbkit/subset"
)

// clientsPrefix is where the subsetting clients register themselves.
const clientsPrefix = "/services/http-clients/"

// subsetClient is one client process: its registration among the peers,
// its publishers, its subset and its balancer.
type subsetClient struct {
	id   string
	reg  *etcdpub.Registrar
	pubs []*etcdpub.Publisher
	sub  *subset.Publisher
	bal  *loadbalancer.Balancer
}

func (c *subsetClient) stop() {
	c.bal.Close()
	c.sub.Stop()
	for _, p := range c.pubs {
		p.Stop()
	}
	c.reg.Stop()
}

// startSubsetClient starts a client that registers itself under id in
// clientsPrefix, reads the backends and its peers from etcd and balances
// round-robin over its subset of size backends. Round-robin spreads each
// client evenly over its subset, the premise of equal load: the subsetting
// is under test.
func startSubsetClient(t *testing.T, cli *clientv3.Client, id string, size int, opts ...subset.Option) *subsetClient {
	t.Helper()
	c := &subsetClient{id: id}
	reg, err := etcdpub.NewRegistrar(cli, clientsPrefix+id, publisher.Instance{Address: id}, etcdpub.WithTTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	c.reg = reg
	if err := reg.Register(ctx(t)); err != nil {
		t.Fatalf("register client %s: %v", id, err)
	}
	back, err := etcdpub.NewPublisher(cli, prefix, pubOpts...)
	if err != nil {
		t.Fatal(err)
	}
	peers, err := etcdpub.NewPublisher(cli, clientsPrefix, pubOpts...)
	if err != nil {
		back.Stop()
		t.Fatal(err)
	}
	c.pubs = []*etcdpub.Publisher{back, peers}
	if c.sub, err = subset.New(back, size, subset.Peers(peers, id), opts...); err != nil {
		t.Fatal(err)
	}
	if c.bal, err = loadbalancer.New(c.sub, httpFactory(nil, nil), loadbalancer.WithStrategy(strategy.RoundRobin{})); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSubsetsFromPeersInEtcd: four clients register themselves in a real
// etcd next to eight registered HTTP backends on 127.0.0.1, each finds its
// rank among its peers and balances over four backends: every backend
// serves exactly two clients and the same number of calls. When a client
// deregisters, the other three move to the subsets of three clients.
func TestSubsetsFromPeersInEtcd(t *testing.T) {
	const nBackends, nClients, size, perClient = 8, 4, 4, 40
	srv := startServer(t, nil)
	cli := srv.client(t, nil, "", "")
	var backends []*backend
	var addrs []string
	for n := range nBackends {
		b := startBackend(t, fmt.Sprintf("b%d", n))
		register(t, cli, publisher.Instance{Address: b.addr}, nil)
		backends, addrs = append(backends, b), append(addrs, b.addr)
	}

	var fleet []*subsetClient
	for n := range nClients {
		// A client registers under its own address (here one it does not
		// listen on: the ID only has to be unique and look like one).
		c := startSubsetClient(t, cli, fmt.Sprintf("127.0.0.1:%d", 20000+n), size)
		defer c.stop()
		fleet = append(fleet, c)
	}

	settled := func(clients []*subsetClient) {
		t.Helper()
		for rank, c := range clients {
			want, err := subset.Assign(addrs, rank, len(clients), size)
			if err != nil {
				t.Fatal(err)
			}
			lbtest.WaitFor(t, c.id+" holds its subset", func() bool {
				st := c.sub.Stats()
				return st.Rank == rank && st.Count == len(clients) && slices.Equal(st.Subset, want)
			})
			lbtest.WaitHosts(t, c.bal, want...)
		}
	}
	settled(fleet)

	for _, c := range fleet {
		lbtest.CallN(t, c.bal, perClient)
	}
	for _, b := range backends {
		if got, want := b.calls.Load(), int64(nClients*perClient/nBackends); got != want {
			t.Errorf("backend %s served %d calls, want %d", b.name, got, want)
		}
	}
	clientsOf := map[string]int{}
	for _, c := range fleet {
		for _, h := range c.bal.Status().Hosts {
			clientsOf[h.Address]++
		}
	}
	for _, a := range addrs {
		if clientsOf[a] != nClients*size/nBackends {
			t.Errorf("backend %s has %d clients, want %d", a, clientsOf[a], nClients*size/nBackends)
		}
	}

	// The second client leaves: its key goes, and the others re-rank.
	if err := fleet[1].reg.Deregister(ctx(t)); err != nil {
		t.Fatal(err)
	}
	settled(slices.Delete(slices.Clone(fleet), 1, 2))
}

// TestLowChurnSubsetsInEtcd: four clients with the LowChurn design over
// eight backends registered in a real etcd, each holding the subset
// AssignLowChurn gives its ID. A backend deregistering changes only the
// subsets that held it, each by that one backend; a client deregistering
// changes no other client's subset.
func TestLowChurnSubsetsInEtcd(t *testing.T) {
	const nBackends, nClients, size = 8, 4, 3
	srv := startServer(t, nil)
	cli := srv.client(t, nil, "", "")
	var regs []*etcdpub.Registrar
	var addrs []string
	for n := range nBackends {
		b := startBackend(t, fmt.Sprintf("b%d", n))
		regs, addrs = append(regs, register(t, cli, publisher.Instance{Address: b.addr}, nil)), append(addrs, b.addr)
	}
	var fleet []*subsetClient
	for n := range nClients {
		c := startSubsetClient(t, cli, fmt.Sprintf("127.0.0.1:%d", 21000+n), size, subset.WithDesign(subset.LowChurn))
		defer c.stop()
		fleet = append(fleet, c)
	}
	settled := func(clients []*subsetClient, backends []string) map[string][]string {
		t.Helper()
		got := map[string][]string{}
		for _, c := range clients {
			want, err := subset.AssignLowChurn(backends, c.id, size)
			if err != nil {
				t.Fatal(err)
			}
			lbtest.WaitFor(t, c.id+" holds its subset", func() bool {
				st := c.sub.Stats()
				return st.Count == len(clients) && slices.Equal(st.Subset, want)
			})
			lbtest.WaitHosts(t, c.bal, want...)
			lbtest.CallN(t, c.bal, 2*size)
			got[c.id] = want
		}
		return got
	}
	before := settled(fleet, addrs)
	changes := map[string]uint64{}
	for _, c := range fleet {
		changes[c.id] = c.sub.Stats().Changes
	}

	// The first backend of client 0's subset leaves.
	gone := before[fleet[0].id][0]
	i := slices.Index(addrs, gone)
	if err := regs[i].Deregister(ctx(t)); err != nil {
		t.Fatal(err)
	}
	after := settled(fleet, slices.Delete(slices.Clone(addrs), i, i+1))
	for _, c := range fleet {
		moved := 0
		for _, a := range after[c.id] {
			if !slices.Contains(before[c.id], a) {
				moved++
			}
		}
		held := slices.Contains(before[c.id], gone)
		if want := map[bool]int{true: 1, false: 0}[held]; moved != want {
			t.Errorf("%s (held %s: %v) changed %d backends, want %d", c.id, gone, held, moved, want)
		}
		if d := c.sub.Stats().Changes - changes[c.id]; d != uint64(2*moved) {
			t.Errorf("%s: Stats.Changes grew by %d, want %d", c.id, d, 2*moved)
		}
		changes[c.id] = c.sub.Stats().Changes
	}

	// A client leaves: no other subset moves.
	if err := fleet[1].reg.Deregister(ctx(t)); err != nil {
		t.Fatal(err)
	}
	rest := slices.Delete(slices.Clone(fleet), 1, 2)
	settled(rest, slices.Delete(slices.Clone(addrs), i, i+1))
	for _, c := range rest {
		if d := c.sub.Stats().Changes - changes[c.id]; d != 0 {
			t.Errorf("%s changed %d backends when a peer left, want 0", c.id, d)
		}
	}
}
