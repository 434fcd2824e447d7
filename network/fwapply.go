package network

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
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

// networkRules writes the rules of the native networks that concurrent attaches need,
// together.
var networkRules = batcher[[]Network]{run: ensureRulesOf}

// ensureNetworkRules adds what the native network n lacks of its rules.
func ensureNetworkRules(n Network) error { return networkRules.do([]Network{n}) }

// networkRulesReady makes sure, in the background, that the native networks of nets
// have their rules: the first attach to a network writes them, attaches meanwhile
// wait for that write (a second would only read the tables again to find nothing
// missing), and later ones find them written by this Manager. The channel yields
// the outcome once.
func (m *Manager) networkRulesReady(nets []recordedNet) <-chan error {
	ch := make(chan error, 1)
	var todo []Network
	var mine, others []*rulesWrite
	m.rulesMu.Lock()
	for _, n := range nets {
		if recordedBackend(n.Net.Backend) != BackendNative {
			continue
		}
		if w, ok := m.rules[n.Net.Bridge]; ok {
			others = append(others, w)
			continue
		}
		w := &rulesWrite{done: make(chan struct{})}
		m.rules[n.Net.Bridge] = w
		todo, mine = append(todo, n.Net), append(mine, w)
	}
	m.rulesMu.Unlock()
	if len(todo) == 0 && len(others) == 0 {
		ch <- nil
		return ch
	}
	go func() {
		var err error
		if len(todo) > 0 {
			err = networkRules.do(todo)
			m.finishRules(todo, mine, err)
		}
		// a write of another attach ends without waiting for anything: no cycle
		for _, w := range others {
			<-w.done
			if err == nil {
				err = w.err
			}
		}
		ch <- err
	}()
	return ch
}

// rulesWrite is one write of a native network's rules by this Manager: done
// closes when it ends, with err its outcome.
type rulesWrite struct {
	done chan struct{}
	err  error
}

// finishRules ends the writes of nets; a failed one is forgotten, so that the
// next attach tries again.
func (m *Manager) finishRules(nets []Network, writes []*rulesWrite, err error) {
	m.rulesMu.Lock()
	defer m.rulesMu.Unlock()
	for i, n := range nets {
		writes[i].err = err
		if err != nil && m.rules[n.Bridge] == writes[i] {
			delete(m.rules, n.Bridge)
		}
		close(writes[i].done)
	}
}

// forgetRules drops what the Manager knows of a removed network's rules.
func (m *Manager) forgetRules(n Network) {
	m.rulesMu.Lock()
	delete(m.rules, n.Bridge)
	m.rulesMu.Unlock()
}

// ensureRulesOf adds what the networks lack of their rules: per family one
// iptables-save and, when something is missing, one iptables-restore for all of them.
// It runs under the host's iptables lock, as berth's chains are deleted under it once
// empty. A CNI plugin does not take that lock: when the restore fails because a
// plugin changed the tables meanwhile, they are read again and the rest is added. If
// the networks together still fail, each caller's are tried alone, so that the error
// is its own.
func ensureRulesOf(batches [][]Network) []error {
	errs := make([]error, len(batches))
	err := withIPTablesLock(func() error { return addMissingRules(slices.Concat(batches...)) })
	if err == nil || len(batches) == 1 {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for i, nets := range batches {
		errs[i] = withIPTablesLock(func() error { return addMissingRules(nets) })
	}
	return errs
}

func addMissingRules(nets []Network) error {
	for _, v6 := range []bool{false, true} {
		var st fwState
		for _, n := range nets {
			st.merge(networkState(n, v6))
		}
		if len(st.rules) == 0 {
			continue
		}
		var err error
		for range 2 {
			var tables map[string]*table
			if tables, err = listTables(v6); err != nil {
				return fmt.Errorf("read firewall rules: %w", err)
			}
			sc := st.missing(tables)
			if sc.empty() {
				break
			}
			if err = restoreText(v6, sc.String()); err == nil {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("add the networks' firewall rules: %w", err)
		}
	}
	return nil
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

// setUpNativeHost puts on the host what a native network needs besides its bridge and
// its rules: forwarding (the bridge plugin turns it on too) and route_localnet on the
// bridge so that published ports answer on 127.0.0.1 (portmap's snat).
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
		return ensureSysctl("net/ipv6/conf/all/forwarding", "1")
	}
	return nil
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
