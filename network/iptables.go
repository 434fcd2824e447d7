package network

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
)

// internalChain is berth's own chain in the mangle table; see the package doc for why
// mangle and not filter.
const internalChain = "BERTH-INTERNAL"

// sharedChains are the plugins' chains that every CNI user on the host shares: berth
// deletes rules in them, never the chains.
var sharedChains = map[string]bool{
	"CNI-FORWARD": true, "CNI-ADMIN": true,
	"CNI-HOSTPORT-DNAT": true, "CNI-HOSTPORT-SETMARK": true, "CNI-HOSTPORT-MASQ": true,
	"CNI-ISOLATION-STAGE-1": true, "CNI-ISOLATION-STAGE-2": true,
}

// rule is one "-A CHAIN …" line of iptables-save.
type rule struct {
	chain string
	args  []string // after "-A CHAIN", unquoted
	line  string   // as iptables-save wrote it, quotes included
}

// arg returns the value of a flag such as "-i" and whether "!" negates it.
func (r rule) arg(flag string) (value string, negated bool) {
	for i := 0; i+1 < len(r.args); i++ {
		if r.args[i] == flag {
			return r.args[i+1], i > 0 && r.args[i-1] == "!"
		}
	}
	return "", false
}

// comment is the rule's -m comment text, "" without one.
func (r rule) comment() string {
	v, _ := r.arg("--comment")
	return v
}

// ipt runs iptables (ip6tables for v6) with -w, which waits for the xtables lock
// instead of failing when a plugin holds it.
func ipt(v6 bool, args ...string) error {
	_, err := run(binary(v6, "iptables"), append([]string{"-w"}, args...)...)
	return err
}

// listRules returns the rules of one table.
func listRules(v6 bool, table string) ([]rule, error) {
	out, err := run(binary(v6, "iptables-save"), "-t", table)
	if err != nil {
		return nil, err
	}
	var rules []rule
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "-A ") {
			continue
		}
		r, err := parseRule(line)
		if err != nil {
			return nil, fmt.Errorf("%s table: %w", table, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// parseRule reads one "-A CHAIN …" line of iptables-save.
func parseRule(line string) (rule, error) {
	words, err := splitRule(line)
	if err == nil && len(words) < 2 {
		err = errors.New("no chain")
	}
	if err != nil {
		return rule{}, fmt.Errorf("parse rule %q: %w", line, err)
	}
	return rule{chain: words[1], args: words[2:], line: line}, nil
}

// splitRule splits an iptables-save line into words, undoing its double quotes and
// backslash escapes (comments are saved as --comment "name: \"x\" id: \"y\"").
func splitRule(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && quoted && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			quoted, inWord = !quoted, true
		case c == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// deleteRules deletes every rule of the table that match selects, duplicates included,
// and returns the rules it deleted. A rule that is already gone (another process got
// there first) is not an error.
func deleteRules(v6 bool, table string, match func(rule) bool) ([]rule, error) {
	rules, err := listRules(v6, table)
	if err != nil {
		return nil, err
	}
	var deleted []rule
	for _, r := range rules {
		if !match(r) {
			continue
		}
		args := append([]string{"-t", table, "-D", r.chain}, r.args...)
		if err := ipt(v6, args...); err != nil && !isGone(err) {
			return deleted, err
		}
		deleted = append(deleted, r)
	}
	return deleted, nil
}

// deleteChain flushes and deletes a chain; a missing chain is success.
func deleteChain(v6 bool, table, chain string) error {
	for _, op := range []string{"-F", "-X"} {
		if err := ipt(v6, "-t", table, op, chain); err != nil && !isGone(err) {
			return err
		}
	}
	return nil
}

// sweepContainer deletes what the plugins left of one container on one network (or of
// every container when containerID is ""): the rules whose comment names them, and the
// per-container CNI-… chains those rules jumped to. The bridge plugin's masquerade rules
// are such leftovers whenever DEL runs after the netns is gone.
func sweepContainer(v6 bool, network, containerID string) error {
	tag := containerTag(network, containerID)
	for _, table := range []string{"nat", "filter"} {
		deleted, err := deleteRules(v6, table, func(r rule) bool {
			return strings.Contains(r.comment(), tag)
		})
		if err != nil {
			return fmt.Errorf("sweep %s rules of %s: %w", table, network, err)
		}
		for _, r := range deleted {
			if target, ok := containerChain(r); ok {
				if err := deleteChain(v6, table, target); err != nil {
					return fmt.Errorf("sweep %s chain %s of %s: %w", table, target, network, err)
				}
			}
		}
	}
	return nil
}

// containerTag is what the plugins' comments say of a container on a network, or of
// every container of the network when containerID is "".
func containerTag(network, containerID string) string {
	if containerID == "" {
		return fmt.Sprintf("name: %q id: ", network)
	}
	return fmt.Sprintf("name: %q id: %q", network, containerID)
}

// containerChain returns the per-container CNI-… chain r jumps to, if it does.
func containerChain(r rule) (string, bool) {
	target, _ := r.arg("-j")
	return target, strings.HasPrefix(target, "CNI-") && !sharedChains[target]
}

// sweepNetwork deletes the firewall plugin's rules that name the bridge (the isolation
// rules, which CNI DEL never removes) or an address of the subnets (per-container
// accepts whose DEL never ran), in every copy.
func sweepNetwork(v6 bool, bridge string, subnets []Subnet) error {
	_, err := deleteRules(v6, "filter", func(r rule) bool { return isFirewallRuleOf(r, bridge, subnets) })
	if err != nil {
		return fmt.Errorf("sweep firewall rules of bridge %s: %w", bridge, err)
	}
	return nil
}

// isFirewallRuleOf reports whether r is one of the firewall plugin's filter rules for
// the bridge or for an address of the subnets.
func isFirewallRuleOf(r rule, bridge string, subnets []Subnet) bool {
	switch r.chain {
	case "CNI-ISOLATION-STAGE-1", "CNI-ISOLATION-STAGE-2":
		in, _ := r.arg("-i")
		out, _ := r.arg("-o")
		return in == bridge || out == bridge
	case "CNI-FORWARD":
		src, _ := r.arg("-s")
		dst, _ := r.arg("-d")
		return inSubnets(src, subnets) || inSubnets(dst, subnets)
	}
	return false
}

// inSubnets reports whether s is a single address ("10.89.0.2/32") inside subnets.
func inSubnets(s string, subnets []Subnet) bool {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.IsSingleIP() {
		return false
	}
	for _, sn := range subnets {
		if sn.Subnet.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// internalRules are the two rules that cut an internal network's bridge off from every
// other interface, in both directions, while traffic within the bridge passes.
func internalRules(bridge, network string) [][]string {
	comment := []string{"-m", "comment", "--comment", "berth internal network " + network}
	return [][]string{
		append([]string{"-i", bridge, "!", "-o", bridge}, append(comment, "-j", "DROP")...),
		append([]string{"-o", bridge, "!", "-i", bridge}, append(comment, "-j", "DROP")...),
	}
}

// addInternal installs the internal rules for bridge. The caller holds the host's
// iptables lock, so the chain cannot vanish between its check and its use.
func addInternal(v6 bool, bridge, network string) error {
	if err := ipt(v6, "-t", "mangle", "-N", internalChain); err != nil && !isExists(err) {
		return fmt.Errorf("create chain %s: %w", internalChain, err)
	}
	jump := []string{"FORWARD", "-j", internalChain}
	if err := ensureRule(v6, "-I", jump); err != nil {
		return fmt.Errorf("jump to chain %s: %w", internalChain, err)
	}
	for _, r := range internalRules(bridge, network) {
		if err := ensureRule(v6, "-A", append([]string{internalChain}, r...)); err != nil {
			return fmt.Errorf("add internal rule for %s: %w", bridge, err)
		}
	}
	return nil
}

// ensureRule adds a mangle rule (chain first in spec) with op unless it exists.
func ensureRule(v6 bool, op string, spec []string) error {
	if ipt(v6, append([]string{"-t", "mangle", "-C"}, spec...)...) == nil {
		return nil
	}
	return ipt(v6, append([]string{"-t", "mangle", op}, spec...)...)
}

// removeInternal deletes bridge's internal rules (every copy), and berth's chain and its
// jump once no internal network is left. The caller holds the host's iptables lock.
func removeInternal(v6 bool, bridge string) error {
	rules, err := listRules(v6, "mangle")
	if err != nil {
		return fmt.Errorf("remove internal rules of %s: %w", bridge, err)
	}
	left := 0
	for _, r := range rules {
		if r.chain != internalChain {
			continue
		}
		if !isInternalRuleOf(r, bridge) {
			left++
			continue
		}
		if err := ipt(v6, append([]string{"-t", "mangle", "-D", internalChain}, r.args...)...); err != nil && !isGone(err) {
			return fmt.Errorf("remove internal rule of %s: %w", bridge, err)
		}
	}
	if left > 0 {
		return nil
	}
	if _, err := deleteRules(v6, "mangle", func(r rule) bool {
		target, _ := r.arg("-j")
		return r.chain == "FORWARD" && target == internalChain
	}); err != nil {
		return fmt.Errorf("remove jump to %s: %w", internalChain, err)
	}
	if err := deleteChain(v6, "mangle", internalChain); err != nil {
		return fmt.Errorf("remove chain %s: %w", internalChain, err)
	}
	return nil
}

// isInternalRuleOf reports whether r is one of bridge's internal rules: both of them
// name it with -i (once negated).
func isInternalRuleOf(r rule, bridge string) bool {
	in, _ := r.arg("-i")
	return r.chain == internalChain && in == bridge
}

// isGone recognises iptables' answers for a rule or chain that does not exist.
func isGone(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "does a matching rule exist") ||
		strings.Contains(msg, "No chain/target/match by that name") ||
		strings.Contains(msg, "does not exist") ||
		// iptables-nft, when the rule went between our listing and the delete:
		// "RULE_DELETE failed (No such file or directory): rule in chain …"
		strings.Contains(msg, "failed (No such file or directory)")
}

func isExists(err error) bool { return strings.Contains(err.Error(), "already exists") }

// binary finds iptables and friends also where a non-root PATH does not look.
func binary(v6 bool, name string) string {
	if v6 {
		name = strings.Replace(name, "iptables", "ip6tables", 1)
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p, err := exec.LookPath(dir + "/" + name); err == nil {
			return p
		}
	}
	return name
}

// run runs a command and returns its stdout; its error carries stderr.
func run(name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
