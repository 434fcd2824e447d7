package network

import (
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// A network's removal deletes rules in three tables (berth's DNS and internal rules, the
// firewall plugin's isolation and forward rules, what the plugins left of containers
// whose DEL could not finish). Done rule by rule that is two to four iptables-save runs
// and an iptables run per rule, each a process that waits for the xtables lock. So
// removal reads every table with one iptables-save and deletes with one
// iptables-restore --noflush per address family, which is also atomic. If the batch
// fails (a rule deleted meanwhile by another CNI user, a chain still referenced), the
// rule-by-rule path, which tolerates both, runs instead.

// table is one table of an iptables-save dump.
type table struct {
	chains map[string]bool
	rules  []rule
}

// listTables returns every table of the family, read with one iptables-save.
func listTables(v6 bool) (map[string]*table, error) {
	out, err := run(binary(v6, "iptables-save"))
	if err != nil {
		return nil, err
	}
	return parseTables(out)
}

// parseTables reads an iptables-save dump: "*table", ":CHAIN policy [counters]" and
// "-A CHAIN …" lines.
func parseTables(dump string) (map[string]*table, error) {
	tables := map[string]*table{}
	var cur *table
	for _, line := range strings.Split(dump, "\n") {
		switch {
		case strings.HasPrefix(line, "*"):
			cur = &table{chains: map[string]bool{}}
			tables[strings.TrimPrefix(line, "*")] = cur
		case cur == nil:
		case strings.HasPrefix(line, ":"):
			if f := strings.Fields(line[1:]); len(f) > 0 {
				cur.chains[f[0]] = true
			}
		case strings.HasPrefix(line, "-A "):
			r, err := parseRule(line)
			if err != nil {
				return nil, err
			}
			cur.rules = append(cur.rules, r)
		}
	}
	return tables, nil
}

// restoreBatch collects iptables-restore commands per table: rule deletions first, then
// the chains to flush and delete, once each.
type restoreBatch struct {
	dels   *script             // the rule deletions; its tables are the batch's, in first-use order
	chains map[string][]string // per table, the chains to flush and delete after them
}

func newRestoreBatch() *restoreBatch {
	return &restoreBatch{dels: newScript(), chains: map[string][]string{}}
}

// deleteRule deletes one copy of r; a rule listed twice is deleted twice.
func (b *restoreBatch) deleteRule(tbl string, r rule) {
	b.dels.add(tbl, "-D "+strings.TrimPrefix(r.line, "-A "))
}

// deleteChain flushes and deletes chain, after every rule deletion of the batch.
func (b *restoreBatch) deleteChain(tbl, chain string) {
	if slices.Contains(b.chains[tbl], chain) {
		return
	}
	b.dels.use(tbl)
	b.chains[tbl] = append(b.chains[tbl], chain)
}

func (b *restoreBatch) empty() bool { return b.dels.empty() }

// String is the batch in iptables-restore's format; iptables-save's quoting of the rules
// is also iptables-restore's.
func (b *restoreBatch) String() string {
	out := newScript()
	for _, tbl := range b.dels.tables {
		out.use(tbl)
		for _, l := range b.dels.lines[tbl] {
			out.add(tbl, l)
		}
		for _, c := range b.chains[tbl] {
			out.add(tbl, "-F "+c)
			out.add(tbl, "-X "+c)
		}
	}
	return out.String()
}

// restore applies the batch in one iptables-restore run, all or nothing.
func restore(v6 bool, b *restoreBatch) error {
	cmd := exec.Command(binary(v6, "iptables-restore"), "-w", "--noflush")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", cmd.Path, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// removeNetworkRules deletes every rule of n in one family: its internal and DNS rules
// (and berth's chains once no network uses them), the firewall plugin's rules for its
// bridge and subnets, and what the plugins left of its containers. The caller holds
// the host's iptables lock.
func removeNetworkRules(v6 bool, n Network) error {
	tables, err := listTables(v6)
	if err == nil {
		b := networkRulesBatch(tables, n)
		if b.empty() {
			return nil
		}
		if err = restore(v6, b); err == nil {
			return nil
		}
	}
	// rule by rule, each step tolerating what vanished meanwhile
	return removeNetworkRulesOneByOne(v6, n)
}

// removeNetworkRulesOneByOne is removeNetworkRules with an iptables run per rule.
func removeNetworkRulesOneByOne(v6 bool, n Network) error {
	if n.Internal {
		if err := removeInternal(v6, n.Bridge); err != nil {
			return err
		}
	}
	return errors.Join(removeDNS(v6, n.Bridge), sweepNetwork(v6, n.Bridge, n.Subnets), sweepContainer(v6, n.CNIName, ""))
}

// networkRulesBatch is what removeNetworkRules deletes, as one batch.
func networkRulesBatch(tables map[string]*table, n Network) *restoreBatch {
	b := newRestoreBatch()
	if t := tables["mangle"]; t != nil && n.Internal {
		b.dropOwnChain(t, "mangle", internalChain, "FORWARD", func(r rule) bool { return isInternalRuleOf(r, n.Bridge) })
	}
	if t := tables["filter"]; t != nil {
		b.dropOwnChain(t, "filter", dnsChain, "INPUT", func(r rule) bool { return isDNSRuleOf(r, n.Bridge) })
		for _, r := range t.rules {
			if isFirewallRuleOf(r, n.Bridge, n.Subnets) {
				b.deleteRule("filter", r)
			}
		}
	}
	tag := containerTag(n.CNIName, "")
	for _, tbl := range []string{"nat", "filter"} {
		if t := tables[tbl]; t != nil {
			b.dropTagged(t, tbl, tag)
		}
	}
	return b
}

// dropOwnChain deletes the rules of one of berth's chains that mine selects, and the
// chain with its jumps from parent once no other rule is left in it.
func (b *restoreBatch) dropOwnChain(t *table, tbl, chain, parent string, mine func(rule) bool) {
	left := 0
	for _, r := range t.rules {
		switch {
		case r.chain != chain:
		case mine(r):
			b.deleteRule(tbl, r)
		default:
			left++
		}
	}
	if left > 0 || !t.chains[chain] {
		return
	}
	for _, r := range t.rules {
		if target, _ := r.arg("-j"); r.chain == parent && target == chain {
			b.deleteRule(tbl, r)
		}
	}
	b.deleteChain(tbl, chain)
}

// dropTagged deletes the rules whose comment carries tag and the per-container chains
// they jump to.
func (b *restoreBatch) dropTagged(t *table, tbl, tag string) {
	for _, r := range t.rules {
		if !strings.Contains(r.comment(), tag) {
			continue
		}
		b.deleteRule(tbl, r)
		if target, ok := containerChain(r); ok && t.chains[target] {
			b.deleteChain(tbl, target)
		}
	}
}
