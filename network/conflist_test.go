package network

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/containernetworking/cni/libcni"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestConflistGolden(t *testing.T) {
	v4 := Subnet{Subnet: netip.MustParsePrefix("10.89.3.0/24"), Gateway: netip.MustParseAddr("10.89.3.1")}
	v6 := Subnet{Subnet: netip.MustParsePrefix("fd42:b3e7:89::/64"), Gateway: netip.MustParseAddr("fd42:b3e7:89::1")}
	base := Network{Spec: Spec{Name: "proj_default", Subnets: []Subnet{v4}}, Bridge: "br-0123456789ab", CNIName: "berth-0123456789ab"}
	internal := base
	internal.Internal = true
	dual := base
	dual.EnableIPv6, dual.MTU = true, 1400
	dual.Subnets = []Subnet{
		{Subnet: v4.Subnet, Gateway: netip.MustParseAddr("10.89.3.254"), IPRange: netip.MustParsePrefix("10.89.3.128/25")},
		{Subnet: v6.Subnet, Gateway: v6.Gateway, IPRange: netip.MustParsePrefix("fd42:b3e7:89::/120")},
	}
	tests := []struct {
		name  string
		net   Network
		iface ifaceConf
	}{
		{"primary-with-ports", base, ifaceConf{IfName: "eth0", DefaultRoute: true, Ports: true}},
		{"primary-static-ip-mac", base, ifaceConf{IfName: "eth0", DefaultRoute: true, IPv4: netip.MustParseAddr("10.89.3.10"), MAC: "02:42:0a:59:03:0a"}},
		{"secondary", base, ifaceConf{IfName: "eth1"}},
		// An internal network never gets the default route, masquerading or ports, even
		// if asked.
		{"internal", internal, ifaceConf{IfName: "eth0", DefaultRoute: true, Ports: true}},
		{"dual-stack-range-mtu", dual, ifaceConf{IfName: "eth0", DefaultRoute: true, IPv6: netip.MustParseAddr("fd42:b3e7:89::a")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := conflist(tt.net, "/var/lib/berth/networks/ipam", tt.iface)
			if err != nil {
				t.Fatal(err)
			}
			// libcni must accept it as go-cni will load it.
			if _, err := libcni.ConfListFromBytes(got); err != nil {
				t.Fatalf("libcni rejects the conflist: %v\n%s", err, got)
			}
			golden := filepath.Join("testdata", "conflist", tt.name+".json")
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./network -run TestConflistGolden -update)", err)
			}
			if !bytes.Equal(append(got, '\n'), want) {
				t.Errorf("conflist differs from %s (-update to accept):\n%s", golden, got)
			}
		})
	}
}

func TestConflistPluginChain(t *testing.T) {
	n := Network{Spec: Spec{Name: "n", Subnets: []Subnet{{Subnet: netip.MustParsePrefix("10.1.0.0/24"), Gateway: netip.MustParseAddr("10.1.0.1")}}}, Bridge: "br-x", CNIName: "berth-x"}
	types := func(c ifaceConf, internal bool) []string {
		n := n
		n.Internal = internal
		data, err := conflist(n, "/ipam", c)
		if err != nil {
			t.Fatal(err)
		}
		var parsed struct {
			Plugins []struct {
				Type             string `json:"type"`
				IsDefaultGateway bool   `json:"isDefaultGateway"`
				IPMasq           bool   `json:"ipMasq"`
			} `json:"plugins"`
		}
		if err := json.Unmarshal(data, &parsed); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range parsed.Plugins {
			out = append(out, p.Type)
			if p.Type == "bridge" && (p.IsDefaultGateway || p.IPMasq) && internal {
				t.Errorf("internal network: bridge has isDefaultGateway=%v ipMasq=%v", p.IsDefaultGateway, p.IPMasq)
			}
		}
		return out
	}
	for _, tt := range []struct {
		c        ifaceConf
		internal bool
		want     string
	}{
		{ifaceConf{}, false, "[bridge firewall]"},
		{ifaceConf{Ports: true}, false, "[bridge portmap firewall]"},
		{ifaceConf{Ports: true, MAC: "02:00:00:00:00:01"}, false, "[bridge portmap firewall tuning]"},
		{ifaceConf{Ports: true}, true, "[bridge firewall]"},
	} {
		if got := fmtStrings(types(tt.c, tt.internal)); got != tt.want {
			t.Errorf("plugins for %+v internal=%v: %s, want %s", tt.c, tt.internal, got, tt.want)
		}
	}
}

func fmtStrings(s []string) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, x := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x)
	}
	b.WriteByte(']')
	return b.String()
}

func TestRangeOf(t *testing.T) {
	for _, tt := range []struct {
		subnet, ipRange, start, end string
	}{
		{"10.0.0.0/24", "", "", ""},
		{"10.0.0.0/24", "10.0.0.128/25", "10.0.0.128", "10.0.0.254"},
		{"10.0.0.0/24", "10.0.0.0/26", "10.0.0.1", "10.0.0.63"},
		{"fd00::/64", "fd00::/120", "fd00::1", "fd00::ff"},
	} {
		sn := Subnet{Subnet: netip.MustParsePrefix(tt.subnet)}
		sn.Gateway = firstHost(sn.Subnet)
		if tt.ipRange != "" {
			sn.IPRange = netip.MustParsePrefix(tt.ipRange)
		}
		r := rangeOf(sn)
		if r.RangeStart != tt.start || r.RangeEnd != tt.end {
			t.Errorf("rangeOf(%s, %s) = %s..%s, want %s..%s", tt.subnet, tt.ipRange, r.RangeStart, r.RangeEnd, tt.start, tt.end)
		}
	}
}
