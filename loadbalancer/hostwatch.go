package loadbalancer

import (
	"slices"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
	"github.com/seed41aebe0c/lbkit/strategy"
)

// HostWatcher learns the balancer's hosts: SetHosts is called with the
// live hosts, in set order, each time the set changes (and once when the
// balancer starts), so that something outside the request path can reach
// the host of an address. orca.Reports is one: it routes the load reports
// that a factory's client hooks receive, by instance address, to the hosts
// a load-aware strategy reads. SetHosts runs on the balancer's update path,
// under its lock, and must return quickly; it may keep the slice but must
// not modify it.
type HostWatcher interface {
	SetHosts(hosts []*strategy.Host)
}

// WithHostWatcher tells w the balancer's hosts whenever they change (see
// HostWatcher). A nil watcher is an error.
func WithHostWatcher(w HostWatcher) Option {
	return func(c *config) error {
		if nilarg.IsNil(w) {
			return invalid("nil host watcher")
		}
		c.watchers = append(c.watchers, w)
		return nil
	}
}

// tellWatchers gives every watcher the hosts, in a copy of its own: the
// set's slice is shared with the picker.
func tellWatchers(ws []HostWatcher, hosts []*strategy.Host) {
	if len(ws) == 0 {
		return
	}
	hosts = slices.Clone(hosts)
	for _, w := range ws {
		w.SetHosts(hosts)
	}
}
