package network

import (
	"net/netip"
	"strings"
	"testing"
)

func used(prefixes ...string) []usedPrefix {
	var out []usedPrefix
	for _, p := range prefixes {
		out = append(out, usedPrefix{netip.MustParsePrefix(p), "route " + p})
	}
	return out
}

func TestPickSubnet(t *testing.T) {
	pool := []netip.Prefix{netip.MustParsePrefix("10.89.0.0/16"), netip.MustParsePrefix("fd42:b3e7:89::/48")}
	for _, tt := range []struct {
		name    string
		pool    []netip.Prefix
		size    int
		v6      bool
		used    []usedPrefix
		want    string
		wantErr string
	}{
		{name: "empty host", pool: pool, size: 24, want: "10.89.0.0/24"},
		{name: "skips a host route", pool: pool, size: 24, used: used("10.89.0.0/24", "192.0.2.0/24"), want: "10.89.1.0/24"},
		{name: "skips an address inside a candidate", pool: pool, size: 24, used: used("10.89.0.0/24", "10.89.1.7/32"), want: "10.89.2.0/24"},
		{name: "a wider route blocks several", pool: pool, size: 24, used: used("10.89.0.0/22"), want: "10.89.4.0/24"},
		{name: "default route is not in the list, pool covered", pool: pool, size: 24, used: used("10.0.0.0/8"), wantErr: "no free IPv4 subnet"},
		{name: "smaller subnets", pool: pool, size: 26, used: used("10.89.0.0/26"), want: "10.89.0.64/26"},
		{name: "second pool", pool: []netip.Prefix{netip.MustParsePrefix("10.89.0.0/24"), netip.MustParsePrefix("172.30.0.0/16")}, size: 24, used: used("10.89.0.0/24"), want: "172.30.0.0/24"},
		{name: "ipv6", pool: pool, v6: true, used: used("fd42:b3e7:89::/64"), want: "fd42:b3e7:89:1::/64"},
		{name: "no ipv6 pool", pool: pool[:1], v6: true, wantErr: "no IPv6 address pool"},
		{name: "end of address space", pool: []netip.Prefix{netip.MustParsePrefix("255.255.255.0/24")}, size: 24, used: used("255.255.255.0/24"), wantErr: "no free IPv4 subnet"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pickSubnet(tt.pool, tt.size, tt.v6, tt.used)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("pickSubnet = %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("pickSubnet = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestOverlappingNamesTheOwner(t *testing.T) {
	u := overlapping(netip.MustParsePrefix("10.1.2.0/24"), used("192.0.2.0/24", "10.0.0.0/8"))
	if u == nil || u.owner != "route 10.0.0.0/8" {
		t.Fatalf("overlapping = %+v, want the 10.0.0.0/8 route", u)
	}
	if u := overlapping(netip.MustParsePrefix("10.1.2.0/24"), used("10.1.3.0/24")); u != nil {
		t.Fatalf("adjacent prefix reported as overlapping: %+v", u)
	}
}

func TestPrefixArithmetic(t *testing.T) {
	if got := lastAddr(netip.MustParsePrefix("10.89.3.0/24")); got.String() != "10.89.3.255" {
		t.Errorf("lastAddr = %s", got)
	}
	if got := lastAddr(netip.MustParsePrefix("fd00::/120")); got.String() != "fd00::ff" {
		t.Errorf("lastAddr v6 = %s", got)
	}
	if got := nextPrefix(netip.MustParsePrefix("10.89.255.0/24")); got.String() != "10.90.0.0/24" {
		t.Errorf("nextPrefix = %s", got)
	}
	if got := nextPrefix(netip.MustParsePrefix("255.255.255.0/24")); got.IsValid() {
		t.Errorf("nextPrefix past the end = %s, want invalid", got)
	}
	if got := firstHost(netip.MustParsePrefix("10.89.3.0/24")); got.String() != "10.89.3.1" {
		t.Errorf("firstHost = %s", got)
	}
}
