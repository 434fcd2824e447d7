package network

import (
	"fmt"
	"net/netip"
)

// dnsChain is berth's chain in the filter table that lets containers reach the DNS
// responder on their gateway (package network/dns) when the host's INPUT chain would
// drop them: a policy of DROP is common on hardened hosts, and a resolver that times
// out is worse than none. It is jumped to from the top of INPUT and holds one pair of
// ACCEPT rules (udp, tcp) per bridge, naming only the gateway address and port 53.
const dnsChain = "BERTH-DNS"

// dnsRules are the ACCEPT rules for the responder on gw, reached through bridge.
func dnsRules(bridge, network string, gw netip.Addr) [][]string {
	dst := netip.PrefixFrom(gw, gw.BitLen()).String()
	var out [][]string
	for _, proto := range []string{"udp", "tcp"} {
		out = append(out, []string{"-i", bridge, "-d", dst, "-p", proto, "-m", proto, "--dport", "53",
			"-m", "comment", "--comment", "berth dns " + network, "-j", "ACCEPT"})
	}
	return out
}

// sameDNSRule reports whether r is the rule spec for the same bridge, protocol and
// gateway; iptables-save writes rules back in its own order and form.
func sameDNSRule(r rule, spec []string) bool {
	want := rule{chain: dnsChain, args: spec}
	if r.chain != dnsChain {
		return false
	}
	for _, flag := range []string{"-i", "-p", "--dport"} {
		have, _ := r.arg(flag)
		if w, _ := want.arg(flag); have != w {
			return false
		}
	}
	have, _ := r.arg("-d")
	w, _ := want.arg("-d")
	hp, err1 := netip.ParsePrefix(have)
	wp, err2 := netip.ParsePrefix(w)
	return err1 == nil && err2 == nil && hp == wp
}

// addDNS lets n's containers reach n's gateway of one address family on port 53. It
// reads the table once and adds only what is missing, so that Ensure of an existing
// network costs one iptables-save. The caller holds the host's iptables lock.
func addDNS(v6 bool, n Network) error {
	sn, ok := n.subnet(v6)
	if !ok {
		return nil
	}
	rules, err := listRules(v6, "filter")
	if err != nil {
		return fmt.Errorf("add DNS rules for %s: %w", n.Bridge, err)
	}
	if !hasJump(rules, "INPUT", dnsChain) {
		if err := ipt(v6, "-N", dnsChain); err != nil && !isExists(err) {
			return fmt.Errorf("create chain %s: %w", dnsChain, err)
		}
		if err := ipt(v6, "-I", "INPUT", "-j", dnsChain); err != nil {
			return fmt.Errorf("jump to chain %s: %w", dnsChain, err)
		}
	}
	for _, spec := range dnsRules(n.Bridge, n.Name, sn.Gateway) {
		found := false
		for _, r := range rules {
			found = found || sameDNSRule(r, spec)
		}
		if found {
			continue
		}
		if err := ipt(v6, append([]string{"-A", dnsChain}, spec...)...); err != nil {
			return fmt.Errorf("add DNS rule for %s: %w", n.Bridge, err)
		}
	}
	return nil
}

func hasJump(rules []rule, chain, target string) bool {
	for _, r := range rules {
		if t, _ := r.arg("-j"); r.chain == chain && t == target {
			return true
		}
	}
	return false
}

// isDNSRuleOf reports whether r is one of bridge's DNS rules.
func isDNSRuleOf(r rule, bridge string) bool {
	in, _ := r.arg("-i")
	return r.chain == dnsChain && in == bridge
}

// removeDNS deletes bridge's DNS rules (every copy), and berth's chain and its jump
// once no bridge has any left. The caller holds the host's iptables lock.
func removeDNS(v6 bool, bridge string) error {
	rules, err := listRules(v6, "filter")
	if err != nil {
		return fmt.Errorf("remove DNS rules of %s: %w", bridge, err)
	}
	left := 0
	for _, r := range rules {
		if r.chain != dnsChain {
			continue
		}
		if !isDNSRuleOf(r, bridge) {
			left++
			continue
		}
		if err := ipt(v6, append([]string{"-D", dnsChain}, r.args...)...); err != nil && !isGone(err) {
			return fmt.Errorf("remove DNS rule of %s: %w", bridge, err)
		}
	}
	if left > 0 {
		return nil
	}
	for _, r := range rules {
		if target, _ := r.arg("-j"); r.chain == "INPUT" && target == dnsChain {
			if err := ipt(v6, append([]string{"-D", "INPUT"}, r.args...)...); err != nil && !isGone(err) {
				return fmt.Errorf("remove jump to %s: %w", dnsChain, err)
			}
		}
	}
	if err := deleteChain(v6, "filter", dnsChain); err != nil {
		return fmt.Errorf("remove chain %s: %w", dnsChain, err)
	}
	return nil
}
