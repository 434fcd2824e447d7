package network

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func ipamNetwork(subnets ...Subnet) Network {
	return Network{Spec: Spec{Name: "a", Subnets: subnets}, CNIName: "berth-a"}
}

func v4Subnet(p string) Subnet {
	pp := netip.MustParsePrefix(p)
	return Subnet{Subnet: pp, Gateway: firstHost(pp)}
}

// alloc leases the container's eth0 addresses and returns them joined by commas.
func alloc(t *testing.T, s leaseStore, n Network, containerID string, want ...netip.Addr) string {
	t.Helper()
	got, err := s.allocate(n, containerID, "eth0", want...)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range got {
		out = append(out, a.String())
	}
	return strings.Join(out, ",")
}

// The store reads and writes host-local's files: a network attached through CNI
// before the upgrade keeps its leases, and its round-robin position.
func TestLeaseStoreHostLocalCompatible(t *testing.T) {
	dir := t.TempDir()
	s := leaseStore{dir: filepath.Join(dir, "berth-a")}
	n := ipamNetwork(v4Subnet("10.89.0.0/29")) // hosts .1-.6, .1 the gateway
	// what host-local 1.1.1 left: .2 and .3 leased, .3 handed out last
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"10.89.0.2":          "old1\r\neth0",
		"10.89.0.3":          "old2", // host-local before 0.8
		"last_reserved_ip.0": "10.89.0.3",
		"lock":               "",
	} {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := alloc(t, s, n, "c1"); got != "10.89.0.4" {
		t.Errorf("first lease %s, want 10.89.0.4 (after the last reserved)", got)
	}
	data, _ := os.ReadFile(filepath.Join(s.dir, "10.89.0.4"))
	if string(data) != "c1\r\neth0" {
		t.Errorf("lease file holds %q, want host-local's form", data)
	}
	last, _ := os.ReadFile(filepath.Join(s.dir, "last_reserved_ip.0"))
	if string(last) != "10.89.0.4" {
		t.Errorf("last_reserved_ip.0 = %q", last)
	}
	// .5, .6, then wrap around past the gateway and the taken .2, .3: full
	for _, want := range []string{"10.89.0.5", "10.89.0.6"} {
		if got := alloc(t, s, n, "c-"+want); got != want {
			t.Errorf("lease %s, want %s", got, want)
		}
	}
	if _, err := s.allocate(n, "c9", "eth0"); err == nil || !strings.Contains(err.Error(), "no free address") {
		t.Errorf("full range: err %v", err)
	}
	// releasing by what the record knows, and by scanning for an old-format lease
	if err := s.release("c1", "eth0", []netip.Addr{netip.MustParseAddr("10.89.0.4")}); err != nil {
		t.Fatal(err)
	}
	if err := s.release("old2", "eth0", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.release("c-10.89.0.5", "eth1", nil); err != nil { // another interface: kept
		t.Fatal(err)
	}
	if got := leaseFiles(t, s.dir); !slices.Equal(got, []string{"10.89.0.2", "10.89.0.5", "10.89.0.6"}) {
		t.Errorf("leases left %v", got)
	}
	// round-robin goes on from .6: .2 is taken, .3 free again
	if got := alloc(t, s, n, "c10"); got != "10.89.0.3" {
		t.Errorf("after wrap-around %s, want 10.89.0.3", got)
	}
}

func leaseFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if _, err := netip.ParseAddr(e.Name()); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestLeaseStoreStaticAndDualStack(t *testing.T) {
	s := leaseStore{dir: filepath.Join(t.TempDir(), "berth-a")}
	v6 := Subnet{Subnet: netip.MustParsePrefix("fd00:1::/64"), Gateway: netip.MustParseAddr("fd00:1::1"),
		IPRange: netip.MustParsePrefix("fd00:1::100/120")}
	v4 := v4Subnet("10.89.0.0/24")
	v4.IPRange = netip.MustParsePrefix("10.89.0.128/25")
	n := ipamNetwork(v4, v6)
	if got := alloc(t, s, n, "c1"); got != "10.89.0.128,fd00:1::100" {
		t.Errorf("dynamic %s", got)
	}
	if got := alloc(t, s, n, "c2", netip.MustParseAddr("10.89.0.200")); got != "10.89.0.200,fd00:1::101" {
		t.Errorf("static IPv4 %s", got)
	}
	for _, tc := range []struct{ addr, err string }{
		{"10.89.0.200", "already in use"},
		{"10.89.0.5", "outside the range"},   // host-local keeps statics inside the range
		{"10.89.0.255", "outside the range"}, // the broadcast address
	} {
		_, err := s.allocate(n, "c3", "eth0", netip.MustParseAddr(tc.addr))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("static %s: err %v, want %q", tc.addr, err, tc.err)
		}
	}
	// a failed allocation leased nothing: the IPv6 address of the first try is free
	if got := leaseFiles(t, s.dir); len(got) != 4 {
		t.Errorf("leases %v, want the four of c1 and c2", got)
	}
	gw := ipamNetwork(v4Subnet("10.89.1.0/24"))
	if _, err := s.allocate(gw, "c4", "eth0", netip.MustParseAddr("10.89.1.1")); err == nil || !strings.Contains(err.Error(), "gateway") {
		t.Errorf("gateway as static address: err %v", err)
	}
}
