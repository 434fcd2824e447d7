package network

import (
	"crypto/sha512"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// The native backend writes the same kinds of rules as the CNI plugins, into the same
// chains and tables, so that berth coexists with Docker and other iptables users as
// before: the firewall plugin's CNI-FORWARD (jumped from the top of FORWARD, where an
// accept beats a FORWARD policy of DROP) and its CNI-ISOLATION-STAGE-1/2, portmap's
// CNI-HOSTPORT-DNAT/-SETMARK/-MASQ. The differences are where it pays: a network's
// masquerading and forward accepts are one set of rules per network, written by
// Ensure, instead of one per container; a container adds rules only for its published
// ports, in a chain of its own; and all of it is written by iptables-restore. Every
// rule is written in the form iptables-save prints it, so that a dump tells which
// rules exist by comparing words.

// fwRule is one rule that should exist: table, chain and the words after "-A CHAIN",
// in iptables-save's order.
type fwRule struct {
	table, chain string
	args         []string
	// top inserts the rule at the top of its chain instead of appending it.
	top bool
	// after, when set and found in the same chain, is the rule this one must follow
	// (with top set: right after it instead of at the top).
	after []string
}

// fwChain is a chain that must exist.
type fwChain struct{ table, name string }

// fwState is what a network needs in one address family.
type fwState struct {
	chains []fwChain
	rules  []fwRule
}

func (s *fwState) chain(table, name string) { s.chains = append(s.chains, fwChain{table, name}) }
func (s *fwState) rule(r fwRule)            { s.rules = append(s.rules, r) }

// merge adds o's chains and rules that s does not have yet: the shared chains and
// jumps that every network needs are in s once.
func (s *fwState) merge(o fwState) {
	for _, c := range o.chains {
		if !slices.Contains(s.chains, c) {
			s.chains = append(s.chains, c)
		}
	}
	for _, r := range o.rules {
		if !slices.ContainsFunc(s.rules, func(h fwRule) bool {
			return h.table == r.table && h.chain == r.chain && slices.Equal(h.args, r.args)
		}) {
			s.rules = append(s.rules, r)
		}
	}
}

// Chains and comments shared with the CNI plugins; the texts must be theirs, or the
// plugins would add their own copy next to ours.
const (
	chainForward    = "CNI-FORWARD"
	chainAdmin      = "CNI-ADMIN"
	chainIsolation1 = "CNI-ISOLATION-STAGE-1"
	chainIsolation2 = "CNI-ISOLATION-STAGE-2"
	chainHostDNAT   = "CNI-HOSTPORT-DNAT"
	chainSetMark    = "CNI-HOSTPORT-SETMARK"
	chainMarkMasq   = "CNI-HOSTPORT-MASQ"

	commentForward   = "CNI firewall plugin rules"
	commentAdmin     = "CNI firewall plugin admin overrides"
	commentIsolation = "CNI firewall plugin rules (ingressPolicy: same-bridge)"
	commentSetMark   = "CNI portfwd masquerade mark"
	commentMarkMasq  = "CNI portfwd requiring masquerade"
	// markMasq is portmap's default masquerade bit (13).
	markMasq = "0x2000/0x2000"
)

func comment(text string) []string { return []string{"-m", "comment", "--comment", text} }

// words joins rule fragments.
func words(parts ...[]string) []string { return slices.Concat(parts...) }

// networkTag is the comment of a native network's own rules. It has the plugins' form
// with an empty container ID, so that the removal of a network (teardown.go), which
// deletes every rule tagged with the network's CNI name, takes them too.
func networkTag(n Network) string { return fmt.Sprintf("name: %q id: %q", n.CNIName, "") }

// chainName is the plugins' per-container chain name: prefix and sha512 of name and ID,
// 28 characters. A native network's masquerade chain is its name with an empty ID.
func chainName(prefix, name, id string) string {
	sum := sha512.Sum512([]byte(name + id))
	return fmt.Sprintf("CNI-%s%x", prefix, sum)[:28]
}

// networkState is everything a native network needs in one family: the shared chains
// and their jumps, its isolation, forward accepts, masquerading (unless internal), DNS
// accept and, for an internal network, its DROP rules.
func networkState(n Network, v6 bool) fwState {
	var s fwState
	sn, ok := n.subnet(v6)
	if !ok {
		return s
	}
	filterBase(&s)
	isolation(&s, n.Bridge)
	forwardAccepts(&s, n)
	for _, r := range dnsRules(n.Bridge, n.Name, sn.Gateway) {
		s.rule(fwRule{table: "filter", chain: dnsChain, args: dnsSaveOrder(r)})
	}
	if n.Internal {
		s.chain("mangle", internalChain)
		s.rule(fwRule{table: "mangle", chain: "FORWARD", args: []string{"-j", internalChain}, top: true})
		for _, r := range internalRules(n.Bridge, n.Name) {
			s.rule(fwRule{table: "mangle", chain: internalChain, args: internalSaveOrder(r)})
		}
		return s
	}
	natBase(&s)
	masquerade(&s, n, sn, v6)
	return s
}

// filterBase is the firewall plugin's chains and jumps, and berth's DNS chain. The
// isolation jump must come before CNI-FORWARD's, whose accepts would let traffic
// between bridges through.
func filterBase(s *fwState) {
	for _, c := range []string{chainForward, chainAdmin, chainIsolation1, chainIsolation2, dnsChain} {
		s.chain("filter", c)
	}
	isoJump := words(comment(commentIsolation), []string{"-j", chainIsolation1})
	s.rule(fwRule{table: "filter", chain: "FORWARD", args: words(comment(commentForward), []string{"-j", chainForward}), top: true, after: isoJump})
	s.rule(fwRule{table: "filter", chain: "FORWARD", args: isoJump, top: true})
	s.rule(fwRule{table: "filter", chain: chainForward, args: words(comment(commentAdmin), []string{"-j", chainAdmin}), top: true})
	s.rule(fwRule{table: "filter", chain: "INPUT", args: []string{"-j", dnsChain}, top: true})
}

// isolation is the firewall plugin's same-bridge ingress policy for bridge: traffic
// that leaves another bridge and enters this one is dropped.
func isolation(s *fwState, bridge string) {
	s.rule(fwRule{table: "filter", chain: chainIsolation1, top: true,
		args: words([]string{"-i", bridge, "!", "-o", bridge}, comment(commentIsolation), []string{"-j", chainIsolation2})})
	s.rule(fwRule{table: "filter", chain: chainIsolation1, args: words(comment(commentIsolation), []string{"-j", "RETURN"})})
	s.rule(fwRule{table: "filter", chain: chainIsolation2, top: true,
		args: words([]string{"-o", bridge}, comment(commentIsolation), []string{"-j", "DROP"})})
	s.rule(fwRule{table: "filter", chain: chainIsolation2, args: words(comment(commentIsolation), []string{"-j", "RETURN"})})
}

// forwardAccepts let the network's traffic through a FORWARD policy of DROP: what
// leaves the bridge, the replies to it, and connections to its published ports
// (DNATed), as Docker accepts them. The firewall plugin's per-container accepts are the
// same with the container's address instead of the bridge.
func forwardAccepts(s *fwState, n Network) {
	tag := comment(networkTag(n))
	accept := []string{"-j", "ACCEPT"}
	s.rule(fwRule{table: "filter", chain: chainForward,
		args: words([]string{"-o", n.Bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"}, tag, accept)})
	if !n.Internal {
		s.rule(fwRule{table: "filter", chain: chainForward,
			args: words([]string{"-o", n.Bridge, "-m", "conntrack", "--ctstate", "DNAT"}, tag, accept)})
	}
	s.rule(fwRule{table: "filter", chain: chainForward, args: words([]string{"-i", n.Bridge}, tag, accept)})
}

// natBase is portmap's chains and jumps: published ports are DNATed from
// CNI-HOSTPORT-DNAT, and what the DNAT chains mark is masqueraded (hairpin and
// 127.0.0.1 traffic) before anything else in POSTROUTING.
func natBase(s *fwState) {
	for _, c := range []string{chainHostDNAT, chainSetMark, chainMarkMasq} {
		s.chain("nat", c)
	}
	local := []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", chainHostDNAT}
	s.rule(fwRule{table: "nat", chain: "PREROUTING", args: local})
	s.rule(fwRule{table: "nat", chain: "OUTPUT", args: local})
	s.rule(fwRule{table: "nat", chain: "POSTROUTING", top: true, args: words(comment(commentMarkMasq), []string{"-j", chainMarkMasq})})
	s.rule(fwRule{table: "nat", chain: chainSetMark, args: words(comment(commentSetMark), []string{"-j", "MARK", "--set-xmark", markMasq})})
	s.rule(fwRule{table: "nat", chain: chainMarkMasq, args: []string{"-m", "mark", "--mark", markMasq, "-j", "MASQUERADE"}})
}

// masquerade is the bridge plugin's ipMasq for the whole subnet at once: traffic from
// the subnet to anywhere but the subnet and multicast leaves with the host's address.
func masquerade(s *fwState, n Network, sn Subnet, v6 bool) {
	chain := chainName("", n.CNIName, "")
	multicast := "224.0.0.0/4"
	if v6 {
		multicast = "ff00::/8"
	}
	tag := comment(networkTag(n))
	subnet := sn.Subnet.String()
	s.chain("nat", chain)
	s.rule(fwRule{table: "nat", chain: chain, args: words([]string{"-d", subnet}, tag, []string{"-j", "ACCEPT"})})
	s.rule(fwRule{table: "nat", chain: chain, args: words([]string{"!", "-d", multicast}, tag, []string{"-j", "MASQUERADE"})})
	s.rule(fwRule{table: "nat", chain: "POSTROUTING", args: words([]string{"-s", subnet}, tag, []string{"-j", chain})})
}

// dnsSaveOrder and internalSaveOrder put the rules of dnsrules.go and iptables.go into
// iptables-save's order (addresses, then interfaces, then protocol, then matches).
func dnsSaveOrder(r []string) []string {
	get := func(flag string) string {
		i := slices.Index(r, flag)
		return r[i+1]
	}
	proto := get("-p")
	return words([]string{"-d", get("-d"), "-i", get("-i"), "-p", proto, "-m", proto, "--dport", get("--dport")},
		comment(get("--comment")), []string{"-j", "ACCEPT"})
}

func internalSaveOrder(r []string) []string {
	bridge, rest := r[1], r[5:]
	if r[0] == "-i" { // -i br ! -o br
		return words([]string{"-i", bridge, "!", "-o", bridge}, rest)
	}
	// -o br ! -i br: iptables-save prints the input interface first
	return words([]string{"!", "-i", bridge, "-o", bridge}, rest)
}

// missing is the iptables-restore script that adds what s needs and tables lacks.
// Chains are created with -N, never declared: declaring a chain that exists flushes
// it, and one that a CNI plugin created since the tables were read would lose its
// rules; -N fails instead, and the caller reads again.
func (s fwState) missing(tables map[string]*table) *script {
	out := newScript()
	for _, c := range s.chains {
		if t := tables[c.table]; t == nil || !t.chains[c.name] {
			out.add(c.table, "-N "+c.name)
		}
	}
	for _, r := range s.rules {
		t := tables[r.table]
		if t != nil && t.find(r.chain, r.args) >= 0 {
			continue
		}
		switch {
		case r.top && r.after != nil && t != nil && t.find(r.chain, r.after) >= 0:
			out.add(r.table, fmt.Sprintf("-I %s %d %s", r.chain, t.find(r.chain, r.after)+2, quoteArgs(r.args)))
		case r.top:
			out.add(r.table, fmt.Sprintf("-I %s 1 %s", r.chain, quoteArgs(r.args)))
		default:
			out.add(r.table, fmt.Sprintf("-A %s %s", r.chain, quoteArgs(r.args)))
		}
	}
	return out
}

// find returns the position of the rule among its chain's rules, -1 when absent.
func (t *table) find(chain string, args []string) int {
	i := 0
	for _, r := range t.rules {
		if r.chain != chain {
			continue
		}
		if slices.Equal(r.args, args) {
			return i
		}
		i++
	}
	return -1
}

// quoteArgs writes rule words as iptables-save does: words with spaces or quotes in
// double quotes, with backslash escapes.
func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \"\\'") {
			a = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a) + `"`
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// portRules are a container's published ports in one family, as portmap writes them
// (snat on): a chain of its own, CNI-DN-…, jumped from CNI-HOSTPORT-DNAT per protocol,
// which marks hairpin and 127.0.0.1 traffic for masquerading and DNATs to the
// container. The chain is declared, which also empties a leftover of a crashed
// attach; so the script can run again.
func portRules(n Network, containerID string, addr netip.Addr, ports []PortMapping) (add, del *script) {
	add, del = newScript(), newScript()
	sn, ok := n.subnet(addr.Is6())
	if !ok || len(ports) == 0 {
		return add, del
	}
	chain := chainName("DN-", n.CNIName, containerID)
	var body [][]string
	byProto := map[string][]string{}
	for _, p := range ports {
		host, ok := portHost(p, addr.Is6())
		if !ok {
			continue
		}
		base := []string{"-p", p.Protocol, "-m", p.Protocol, "--dport", strconv.Itoa(int(p.HostPort)), "-j"}
		body = append(body, words([]string{"-s", sn.Subnet.String()}, host, base, []string{chainSetMark}))
		if !addr.Is6() {
			body = append(body, words([]string{"-s", "127.0.0.1/32"}, host, base, []string{chainSetMark}))
		}
		dest := netip.AddrPortFrom(addr, p.ContainerPort).String()
		body = append(body, words(host, base, []string{"DNAT", "--to-destination", dest}))
		byProto[p.Protocol] = append(byProto[p.Protocol], strconv.Itoa(int(p.HostPort)))
	}
	if len(body) == 0 {
		return add, del
	}
	add.add("nat", ":"+chain+" - [0:0]")
	for _, b := range body {
		add.add("nat", "-A "+chain+" "+quoteArgs(b))
	}
	tag := comment(fmt.Sprintf("dnat name: %q id: %q", n.CNIName, containerID))
	for _, proto := range slices.Sorted(maps.Keys(byProto)) {
		for _, list := range chunk(byProto[proto], 15) { // multiport takes 15 ports
			entry := quoteArgs(words([]string{"-p", proto}, tag, []string{"-m", "multiport", "--dports", strings.Join(list, ","), "-j", chain}))
			add.add("nat", "-A "+chainHostDNAT+" "+entry)
			del.add("nat", "-D "+chainHostDNAT+" "+entry)
		}
	}
	del.add("nat", "-F "+chain)
	del.add("nat", "-X "+chain)
	return add, del
}

// portHost is the -d match of a mapping with a host address, and whether the mapping
// applies to the family at all.
func portHost(p PortMapping, v6 bool) ([]string, bool) {
	if p.HostIP == "" {
		return nil, true
	}
	ip, err := netip.ParseAddr(p.HostIP)
	if err != nil || ip.Is6() != v6 {
		return nil, false
	}
	if ip.IsUnspecified() {
		return nil, true
	}
	return []string{"-d", netip.PrefixFrom(ip, ip.BitLen()).String()}, true
}

func chunk(s []string, n int) [][]string {
	var out [][]string
	for len(s) > n {
		out, s = append(out, s[:n]), s[n:]
	}
	return append(out, s)
}

// script is an iptables-restore input: lines per table, tables in the order first
// used. One table is committed atomically; a script of several tables is not, which is
// why a container's rules are all in nat.
type script struct {
	tables []string
	lines  map[string][]string
}

func newScript() *script { return &script{lines: map[string][]string{}} }

func (s *script) add(tbl, line string) {
	s.use(tbl)
	s.lines[tbl] = append(s.lines[tbl], line)
}

// use puts tbl in the script, with or without lines yet.
func (s *script) use(tbl string) {
	if _, ok := s.lines[tbl]; !ok {
		s.tables = append(s.tables, tbl)
		s.lines[tbl] = nil
	}
}

// merge appends o's lines to s.
func (s *script) merge(o *script) {
	for _, tbl := range o.tables {
		for _, l := range o.lines[tbl] {
			s.add(tbl, l)
		}
	}
}

func (s *script) empty() bool { return len(s.tables) == 0 }

func (s *script) String() string {
	var sb strings.Builder
	for _, tbl := range s.tables {
		sb.WriteString("*" + tbl + "\n")
		for _, l := range s.lines[tbl] {
			sb.WriteString(l + "\n")
		}
		sb.WriteString("COMMIT\n")
	}
	return sb.String()
}
