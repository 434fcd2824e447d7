package network

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/berth-dev/berth/network/netspec"
)

func TestSpecValidate(t *testing.T) {
	sn := func(s string) Subnet { return Subnet{Subnet: netip.MustParsePrefix(s)} }
	for _, tt := range []struct {
		name    string
		spec    Spec
		wantErr string
	}{
		{"minimal", Spec{Name: "proj_default"}, ""},
		{"all fields", Spec{Name: "p_n", Internal: true, EnableIPv6: true, MTU: 1400, BridgeName: "br-custom",
			Subnets: []Subnet{{Subnet: netip.MustParsePrefix("10.5.0.0/16"), Gateway: netip.MustParseAddr("10.5.0.254"), IPRange: netip.MustParsePrefix("10.5.1.0/24")}, sn("fd00:1::/64")}}, ""},
		{"empty name", Spec{}, "name"},
		{"slash in name", Spec{Name: "a/b"}, "name"},
		{"mtu", Spec{Name: "n", MTU: 20}, "mtu 20"},
		{"long bridge name", Spec{Name: "n", BridgeName: "br-0123456789abc"}, "bridge name"},
		{"bridge name with slash", Spec{Name: "n", BridgeName: "br/x"}, "bridge name"},
		{"host bits", Spec{Name: "n", Subnets: []Subnet{sn("10.5.0.1/16")}}, "subnets[0]: subnet 10.5.0.1/16: host bits set, did you mean 10.5.0.0/16"},
		{"gateway outside", Spec{Name: "n", Subnets: []Subnet{{Subnet: netip.MustParsePrefix("10.5.0.0/16"), Gateway: netip.MustParseAddr("10.6.0.1")}}}, "subnets[0]: gateway 10.6.0.1"},
		{"gateway is the network address", Spec{Name: "n", Subnets: []Subnet{{Subnet: netip.MustParsePrefix("10.5.0.0/16"), Gateway: netip.MustParseAddr("10.5.0.0")}}}, "gateway 10.5.0.0"},
		{"range outside", Spec{Name: "n", Subnets: []Subnet{{Subnet: netip.MustParsePrefix("10.5.0.0/16"), IPRange: netip.MustParsePrefix("10.6.0.0/24")}}}, "ip_range 10.6.0.0/24"},
		{"too small", Spec{Name: "n", Subnets: []Subnet{sn("10.5.0.0/31")}}, "too small"},
		{"two ipv4 subnets", Spec{Name: "n", Subnets: []Subnet{sn("10.5.0.0/24"), sn("10.6.0.0/24")}}, "subnets[1]: only one subnet per address family"},
		{"ipv6 without enable_ipv6", Spec{Name: "n", Subnets: []Subnet{sn("fd00:1::/64")}}, "needs enable_ipv6"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Check()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("validate = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestDerivedNames(t *testing.T) {
	a, b := bridgeName("/var/lib/berth", "proj_default"), bridgeName("/tmp/other-root", "proj_default")
	if a == b {
		t.Fatalf("two data roots got the same bridge %s", a)
	}
	if a != bridgeName("/var/lib/berth", "proj_default") {
		t.Fatal("bridge name is not deterministic")
	}
	for _, name := range []string{a, b, bridgeName("/r", strings.Repeat("x", 200))} {
		if err := netspec.ValidIfName(name); err != nil || !strings.HasPrefix(name, "br-") {
			t.Errorf("bridge name %q: %v", name, err)
		}
	}
	if bridgeName("/r", "ab") == bridgeName("/ra", "b") {
		t.Error("data root and name run together in the hash")
	}
	if c := cniName("/var/lib/berth", "proj_default"); c != "berth-"+strings.TrimPrefix(a, "br-") || !netspec.ValidName(c) {
		t.Errorf("cni name %q does not match bridge %q", c, a)
	}
}

func TestConflictNamesTheField(t *testing.T) {
	n := Network{Spec: Spec{Name: "n", Labels: map[string]string{"k": "v"}, Subnets: []Subnet{{
		Subnet: netip.MustParsePrefix("10.89.0.0/24"), Gateway: netip.MustParseAddr("10.89.0.1")}}}, Bridge: "br-abc"}
	same := Spec{Name: "n", Labels: map[string]string{"k": "v"}}
	if err := n.conflict(same); err != nil {
		t.Fatalf("same spec (subnet left to allocation) conflicts: %v", err)
	}
	withSubnet := same
	withSubnet.Subnets = []Subnet{{Subnet: netip.MustParsePrefix("10.89.0.0/24")}}
	if err := n.conflict(withSubnet); err != nil {
		t.Fatalf("same subnet conflicts: %v", err)
	}
	for field, s := range map[string]Spec{
		"internal":    {Name: "n", Labels: same.Labels, Internal: true},
		"enable_ipv6": {Name: "n", Labels: same.Labels, EnableIPv6: true},
		"mtu":         {Name: "n", Labels: same.Labels, MTU: 1400},
		"bridge name": {Name: "n", Labels: same.Labels, BridgeName: "br-other"},
		"labels":      {Name: "n"},
		"subnets[0]":  {Name: "n", Labels: same.Labels, Subnets: []Subnet{{Subnet: netip.MustParsePrefix("10.90.0.0/24")}}},
	} {
		err := n.conflict(s)
		if !errors.Is(err, ErrConflict) || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("conflict on %s = %v", field, err)
		}
	}
}

func TestPoolConfig(t *testing.T) {
	pool, size, err := poolConfig(nil, 0)
	if err != nil || size != 24 || len(pool) != 2 || pool[0].String() != "10.89.0.0/16" {
		t.Fatalf("defaults = %v /%d %v", pool, size, err)
	}
	for _, bad := range []struct {
		pool []netip.Prefix
		size int
	}{
		{[]netip.Prefix{netip.MustParsePrefix("10.1.2.3/16")}, 24},
		{[]netip.Prefix{netip.MustParsePrefix("10.1.0.0/26")}, 24},
		{nil, 31},
		{[]netip.Prefix{netip.MustParsePrefix("fd00::/96")}, 24},
	} {
		if _, _, err := poolConfig(bad.pool, bad.size); err == nil {
			t.Errorf("poolConfig(%v, %d) accepted", bad.pool, bad.size)
		}
	}
}

func TestFindCNIPath(t *testing.T) {
	dir := t.TempDir()
	if _, err := FindCNIPath(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("empty dir accepted: %v", err)
	}
	if err := writeJSON(dir+"/bridge", "fake"); err != nil {
		t.Fatal(err)
	}
	if got, err := FindCNIPath(dir); err != nil || got != dir {
		t.Fatalf("FindCNIPath = %q, %v", got, err)
	}
	if _, err := NewManager(Config{DataRoot: t.TempDir(), CNIPath: t.TempDir()}); err == nil {
		t.Fatal("NewManager accepted an explicit plugin dir without plugins")
	}
}
