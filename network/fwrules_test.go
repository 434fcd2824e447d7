package network

import (
	"net/netip"
	"strings"
	"testing"
)

// nativeTestNetwork is a native network a (IPv4 10.89.0.0/24, bridge br-a).
func nativeTestNetwork(internal bool) Network {
	n := testNetwork("a", internal, "10.89.0.0/24")
	n.Backend = BackendNative
	return n
}

func TestNetworkStateOnEmptyHost(t *testing.T) {
	got := networkState(nativeTestNetwork(false), false).missing(map[string]*table{}).String()
	want := `*filter
-N CNI-FORWARD
-N CNI-ADMIN
-N CNI-ISOLATION-STAGE-1
-N CNI-ISOLATION-STAGE-2
-N BERTH-DNS
-I FORWARD 1 -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD
-I FORWARD 1 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j CNI-ISOLATION-STAGE-1
-I CNI-FORWARD 1 -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN
-I INPUT 1 -j BERTH-DNS
-I CNI-ISOLATION-STAGE-1 1 -i br-a ! -o br-a -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j CNI-ISOLATION-STAGE-2
-A CNI-ISOLATION-STAGE-1 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j RETURN
-I CNI-ISOLATION-STAGE-2 1 -o br-a -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j DROP
-A CNI-ISOLATION-STAGE-2 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j RETURN
-A CNI-FORWARD -o br-a -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "name: \"berth-a\" id: \"\"" -j ACCEPT
-A CNI-FORWARD -o br-a -m conntrack --ctstate DNAT -m comment --comment "name: \"berth-a\" id: \"\"" -j ACCEPT
-A CNI-FORWARD -i br-a -m comment --comment "name: \"berth-a\" id: \"\"" -j ACCEPT
-A BERTH-DNS -d 10.89.0.1/32 -i br-a -p udp -m udp --dport 53 -m comment --comment "berth dns a" -j ACCEPT
-A BERTH-DNS -d 10.89.0.1/32 -i br-a -p tcp -m tcp --dport 53 -m comment --comment "berth dns a" -j ACCEPT
COMMIT
*nat
-N CNI-HOSTPORT-DNAT
-N CNI-HOSTPORT-SETMARK
-N CNI-HOSTPORT-MASQ
-N CNI-dc815ad18103672b2202b081
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-I POSTROUTING 1 -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000
-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE
-A CNI-dc815ad18103672b2202b081 -d 10.89.0.0/24 -m comment --comment "name: \"berth-a\" id: \"\"" -j ACCEPT
-A CNI-dc815ad18103672b2202b081 ! -d 224.0.0.0/4 -m comment --comment "name: \"berth-a\" id: \"\"" -j MASQUERADE
-A POSTROUTING -s 10.89.0.0/24 -m comment --comment "name: \"berth-a\" id: \"\"" -j CNI-dc815ad18103672b2202b081
COMMIT
`
	if got != want {
		t.Errorf("script:\n%s\nwant:\n%s", got, want)
	}
}

// A host where the plugins ran before: the shared chains and jumps exist, the
// isolation jump above CNI-FORWARD's. Only the network's own rules are missing, and
// the network's rules that are there (one DNS rule) are not added again.
const dumpPluginsRan = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:BERTH-DNS - [0:0]
:CNI-ADMIN - [0:0]
:CNI-FORWARD - [0:0]
:CNI-ISOLATION-STAGE-1 - [0:0]
:CNI-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A INPUT -j BERTH-DNS
-A FORWARD -j DOCKER-USER
-A FORWARD -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j CNI-ISOLATION-STAGE-1
-A BERTH-DNS -d 10.89.0.1/32 -i br-a -p udp -m udp --dport 53 -m comment --comment "berth dns a" -j ACCEPT
-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN
-A CNI-ISOLATION-STAGE-1 -i br-b ! -o br-b -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j CNI-ISOLATION-STAGE-2
-A CNI-ISOLATION-STAGE-1 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j RETURN
-A CNI-ISOLATION-STAGE-2 -o br-b -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j DROP
-A CNI-ISOLATION-STAGE-2 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j RETURN
-A DOCKER-USER -j RETURN
COMMIT
*mangle
:FORWARD ACCEPT [0:0]
COMMIT
`

func TestNetworkStateOnUsedHost(t *testing.T) {
	tables, err := parseTables(dumpPluginsRan)
	if err != nil {
		t.Fatal(err)
	}
	got := networkState(nativeTestNetwork(true), false).missing(tables).String()
	// CNI-FORWARD's jump goes right below the isolation jump (rule 2 of FORWARD), not
	// at the top where it would let traffic between bridges through.
	want := `*mangle
-N BERTH-INTERNAL
-I FORWARD 1 -j BERTH-INTERNAL
-A BERTH-INTERNAL -i br-a ! -o br-a -m comment --comment "berth internal network a" -j DROP
-A BERTH-INTERNAL ! -i br-a -o br-a -m comment --comment "berth internal network a" -j DROP
COMMIT
*filter
-I FORWARD 3 -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD
-I CNI-ISOLATION-STAGE-1 1 -i br-a ! -o br-a -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j CNI-ISOLATION-STAGE-2
-I CNI-ISOLATION-STAGE-2 1 -o br-a -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j DROP
-A CNI-FORWARD -o br-a -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "name: \"berth-a\" id: \"\"" -j ACCEPT
-A CNI-FORWARD -i br-a -m comment --comment "name: \"berth-a\" id: \"\"" -j ACCEPT
-A BERTH-DNS -d 10.89.0.1/32 -i br-a -p tcp -m tcp --dport 53 -m comment --comment "berth dns a" -j ACCEPT
COMMIT
`
	if got != want {
		t.Errorf("script:\n%s\nwant:\n%s", got, want)
	}
}

// A network's rules, once applied, are found again in the dump iptables-save makes of
// them: Ensure of an existing network adds nothing.
func TestNetworkStateRoundTrip(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		n := nativeTestNetwork(false)
		n.EnableIPv6 = true
		n.Subnets = append(n.Subnets, Subnet{Subnet: netip.MustParsePrefix("fd00:1::/64"), Gateway: netip.MustParseAddr("fd00:1::1")})
		st := networkState(n, v6)
		dump := dumpOf(st)
		tables, err := parseTables(dump)
		if err != nil {
			t.Fatal(err)
		}
		if sc := st.missing(tables); !sc.empty() {
			t.Errorf("v6=%v: after applying, still missing:\n%s", v6, sc)
		}
	}
}

// dumpOf is what iptables-save would print after st was applied to an empty host
// (rule order within chains aside).
func dumpOf(st fwState) string {
	var sb strings.Builder
	for _, tbl := range []string{"filter", "nat", "mangle"} {
		sb.WriteString("*" + tbl + "\n")
		for _, c := range st.chains {
			if c.table == tbl {
				sb.WriteString(":" + c.name + " - [0:0]\n")
			}
		}
		for _, r := range st.rules {
			if r.table == tbl {
				sb.WriteString("-A " + r.chain + " " + quoteArgs(r.args) + "\n")
			}
		}
		sb.WriteString("COMMIT\n")
	}
	return sb.String()
}

func TestPortRules(t *testing.T) {
	n := nativeTestNetwork(false)
	ports := []PortMapping{
		{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 8443, ContainerPort: 443, Protocol: "tcp"},
		{HostPort: 5353, ContainerPort: 53, Protocol: "udp"},
		{HostIP: "::1", HostPort: 9000, ContainerPort: 9000, Protocol: "tcp"}, // IPv6 only
	}
	add, del := portRules(n, "c1", netip.MustParseAddr("10.89.0.2"), ports)
	wantAdd := `*nat
:CNI-DN-51a16b47e8d6d8f987ec8 - [0:0]
-A CNI-DN-51a16b47e8d6d8f987ec8 -s 10.89.0.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-51a16b47e8d6d8f987ec8 -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-51a16b47e8d6d8f987ec8 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.89.0.2:80
-A CNI-DN-51a16b47e8d6d8f987ec8 -s 10.89.0.0/24 -d 127.0.0.1/32 -p tcp -m tcp --dport 8443 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-51a16b47e8d6d8f987ec8 -s 127.0.0.1/32 -d 127.0.0.1/32 -p tcp -m tcp --dport 8443 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-51a16b47e8d6d8f987ec8 -d 127.0.0.1/32 -p tcp -m tcp --dport 8443 -j DNAT --to-destination 10.89.0.2:443
-A CNI-DN-51a16b47e8d6d8f987ec8 -s 10.89.0.0/24 -p udp -m udp --dport 5353 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-51a16b47e8d6d8f987ec8 -s 127.0.0.1/32 -p udp -m udp --dport 5353 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-51a16b47e8d6d8f987ec8 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.89.0.2:53
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"berth-a\" id: \"c1\"" -m multiport --dports 8080,8443 -j CNI-DN-51a16b47e8d6d8f987ec8
-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \"berth-a\" id: \"c1\"" -m multiport --dports 5353 -j CNI-DN-51a16b47e8d6d8f987ec8
COMMIT
`
	wantDel := `*nat
-D CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"berth-a\" id: \"c1\"" -m multiport --dports 8080,8443 -j CNI-DN-51a16b47e8d6d8f987ec8
-D CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \"berth-a\" id: \"c1\"" -m multiport --dports 5353 -j CNI-DN-51a16b47e8d6d8f987ec8
-F CNI-DN-51a16b47e8d6d8f987ec8
-X CNI-DN-51a16b47e8d6d8f987ec8
COMMIT
`
	if got := add.String(); got != wantAdd {
		t.Errorf("add:\n%s\nwant:\n%s", got, wantAdd)
	}
	if got := del.String(); got != wantDel {
		t.Errorf("del:\n%s\nwant:\n%s", got, wantDel)
	}
	// the entry rules are portmap's, so the port check of every berth sees them
	tables, err := parseTables(add.String())
	if err != nil {
		t.Fatal(err)
	}
	mapped := dnatPorts(tables["nat"].rules)
	for _, k := range []portKey{{"tcp", 8080}, {"tcp", 8443}, {"udp", 5353}} {
		if !mapped[k] {
			t.Errorf("port %v not seen as published in %v", k, mapped)
		}
	}
}

func TestPortRulesIPv6(t *testing.T) {
	n := nativeTestNetwork(false)
	n.Subnets = []Subnet{{Subnet: netip.MustParsePrefix("fd00:1::/64"), Gateway: netip.MustParseAddr("fd00:1::1")}}
	add, _ := portRules(n, "c1", netip.MustParseAddr("fd00:1::5"), []PortMapping{
		{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 8443, ContainerPort: 443, Protocol: "tcp"}, // IPv4 only
	})
	got := add.String()
	for _, want := range []string{
		"-s fd00:1::/64 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK\n",
		"-p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:1::5]:80\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("script lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "8443") || strings.Contains(got, "127.0.0.1") {
		t.Errorf("IPv4-only mapping in the IPv6 script:\n%s", got)
	}
}

func TestQuoteArgs(t *testing.T) {
	got := quoteArgs([]string{"-m", "comment", "--comment", `name: "x" id: ""`, "-j", "ACCEPT"})
	want := `-m comment --comment "name: \"x\" id: \"\"" -j ACCEPT`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	words, err := splitRule("-A C " + got)
	if err != nil || words[5] != `name: "x" id: ""` {
		t.Errorf("split back: %q, %v", words, err)
	}
}

// Networks ensured together need the shared chains and jumps once: a chain created
// twice in one restore fails it.
func TestNetworkStatesMerged(t *testing.T) {
	var st fwState
	a, b := nativeTestNetwork(false), testNetwork("b", true, "10.89.1.0/24")
	st.merge(networkState(a, false))
	st.merge(networkState(b, false))
	got := st.missing(map[string]*table{}).String()
	for line, want := range map[string]int{
		"-N CNI-FORWARD\n": 1,
		"-I FORWARD 1 -m comment --comment \"CNI firewall plugin rules\" -j CNI-FORWARD\n": 1,
		"-N CNI-HOSTPORT-DNAT\n": 1,
		"-o br-a -m comment --comment \"CNI firewall plugin rules (ingressPolicy: same-bridge)\" -j DROP\n": 1,
		"-o br-b -m comment --comment \"CNI firewall plugin rules (ingressPolicy: same-bridge)\" -j DROP\n": 1,
		"-A BERTH-INTERNAL -i br-b ! -o br-b": 1,
		"-A BERTH-DNS ":                       4,
	} {
		if n := strings.Count(got, line); n != want {
			t.Errorf("%q %d times, want %d:\n%s", line, n, want, got)
		}
	}
}
