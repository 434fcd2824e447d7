package network

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// restoreText applies an iptables-restore script without flushing what is there.
func restoreText(v6 bool, text string) error {
	cmd := exec.Command(binary(v6, "iptables-restore"), "-w", "--noflush")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", cmd.Path, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ensureNetworkRules adds what the native network n lacks of its rules, in both of its
// families: one iptables-save and, when something is missing, one iptables-restore
// each. It runs under the host's iptables lock, as berth's chains are deleted under it
// once empty. A CNI plugin does not take that lock: when the restore fails because a
// plugin changed the tables meanwhile, they are read again and the rest is added.
func ensureNetworkRules(n Network) error {
	return withIPTablesLock(func() error {
		return forFamilies(n, func(v6 bool) error {
			var err error
			for range 2 {
				if err = addMissingRules(n, v6); err == nil {
					return nil
				}
			}
			return fmt.Errorf("add firewall rules of network %q: %w", n.Name, err)
		})
	})
}

func addMissingRules(n Network, v6 bool) error {
	tables, err := listTables(v6)
	if err != nil {
		return fmt.Errorf("read firewall rules: %w", err)
	}
	sc := networkState(n, v6).missing(tables)
	if sc.empty() {
		return nil
	}
	return restoreText(v6, sc.String())
}

// restoreQueues batch the containers' rule changes per family (0 IPv4, 1 IPv6).
var restoreQueues = [2]restoreQueue{{v6: false}, {v6: true}}

func queueFor(v6 bool) *restoreQueue {
	if v6 {
		return &restoreQueues[1]
	}
	return &restoreQueues[0]
}

// restoreQueue writes the scripts of concurrent callers with one iptables-restore.
// When a merged run fails, each script runs alone, so that one bad script fails only
// its caller. The scripts must each be of one table: only then is a failed restore
// one that changed nothing.
type restoreQueue struct {
	v6    bool
	once  sync.Once
	batch batcher[*script]
	// restore is restoreText; tests replace it.
	restore func(v6 bool, text string) error
}

// apply writes sc and returns its own outcome.
func (q *restoreQueue) apply(sc *script) error {
	q.once.Do(func() {
		if q.restore == nil {
			q.restore = restoreText
		}
		q.batch.run = q.runAll
	})
	return q.batch.do(sc)
}

func (q *restoreQueue) runAll(scripts []*script) []error {
	errs := make([]error, len(scripts))
	all := newScript()
	for _, sc := range scripts {
		all.merge(sc)
	}
	err := q.restore(q.v6, all.String())
	if err == nil || len(scripts) == 1 {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for i, sc := range scripts {
		errs[i] = q.restore(q.v6, sc.String())
	}
	return errs
}

// setUpNativeHost puts on the host what a native network needs besides its bridge:
// forwarding (the bridge plugin turns it on too), route_localnet on the bridge so that
// published ports answer on 127.0.0.1 (portmap's snat), and the network's rules.
func setUpNativeHost(n Network) error {
	if _, ok := n.subnet(false); ok {
		if err := ensureSysctl("net/ipv4/ip_forward", "1"); err != nil {
			return err
		}
		if !n.Internal {
			if err := ensureSysctl("net/ipv4/conf/"+n.Bridge+"/route_localnet", "1"); err != nil {
				return err
			}
		}
	}
	if _, ok := n.subnet(true); ok {
		if err := ensureSysctl("net/ipv6/conf/all/forwarding", "1"); err != nil {
			return err
		}
	}
	return ensureNetworkRules(n)
}

// ensureSysctl sets a sysctl of the host's network namespace unless it has the value.
func ensureSysctl(name, value string) error {
	path := "/proc/sys/" + name
	if have, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(have)) == value {
		return nil
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("set %s: %w", strings.ReplaceAll(name, "/", "."), err)
	}
	return nil
}
