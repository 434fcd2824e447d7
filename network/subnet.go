package network

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// usedPrefix is address space that a new subnet must not overlap, and who uses it (for
// the error message).
type usedPrefix struct {
	prefix netip.Prefix
	owner  string
}

// maxCandidates bounds the walk through an IPv6 pool, which can hold 2^64 subnets.
const maxCandidates = 1 << 16

// pickSubnet returns the first subnet of the pool's prefixes of one family (IPv4 ones
// carved into /size, IPv6 ones into /64) that overlaps nothing in used.
func pickSubnet(pool []netip.Prefix, size int, v6 bool, used []usedPrefix) (netip.Prefix, error) {
	family, bits := "IPv4", size
	if v6 {
		family, bits = "IPv6", 64
	}
	var searched []netip.Prefix
	for _, p := range pool {
		if p.Addr().Is6() != v6 {
			continue
		}
		searched = append(searched, p)
		c := netip.PrefixFrom(p.Addr(), bits)
		for n := 0; n < maxCandidates && c.IsValid() && p.Contains(c.Addr()); n++ {
			if overlapping(c, used) == nil {
				return c, nil
			}
			c = nextPrefix(c)
		}
	}
	if len(searched) == 0 {
		return netip.Prefix{}, fmt.Errorf("no %s address pool configured", family)
	}
	return netip.Prefix{}, fmt.Errorf("no free %s subnet left in %v: set a subnet in the network's ipam config", family, searched)
}

// overlapping returns the first of used that overlaps p.
func overlapping(p netip.Prefix, used []usedPrefix) *usedPrefix {
	for i := range used {
		if used[i].prefix.Overlaps(p) {
			return &used[i]
		}
	}
	return nil
}

// nextPrefix returns the prefix of the same length right after p; invalid past the end
// of the address space.
func nextPrefix(p netip.Prefix) netip.Prefix {
	next := lastAddr(p).Next()
	if !next.IsValid() {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(next, p.Bits())
}

// lastAddr is p's highest address (the IPv4 broadcast address).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// hostPrefixes lists the host's routes (all tables) and interface addresses, except
// default routes and those on the device skipDev: that is the bridge about to be
// (re)created, whose stale address must not block its own subnet.
func hostPrefixes(skipDev string) ([]usedPrefix, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	names := make(map[int]string, len(links))
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_ALL,
		&netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	var used []usedPrefix
	for _, r := range routes {
		p, ok := prefixOf(r.Dst)
		if !ok || p.Bits() == 0 || names[r.LinkIndex] == skipDev && skipDev != "" {
			continue
		}
		used = append(used, usedPrefix{p, "host route " + p.String() + " dev " + names[r.LinkIndex]})
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		p, ok := prefixOf(a.IPNet)
		if !ok || names[a.LinkIndex] == skipDev && skipDev != "" {
			continue
		}
		used = append(used, usedPrefix{p, "address " + a.IPNet.String() + " on " + names[a.LinkIndex]})
	}
	return used, nil
}

func prefixOf(ipn *net.IPNet) (netip.Prefix, bool) {
	if ipn == nil {
		return netip.Prefix{}, false
	}
	addr, ok := netip.AddrFromSlice(ipn.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, bits := ipn.Mask.Size()
	if addr.Is4In6() && bits == 128 {
		ones -= 96
	}
	p := netip.PrefixFrom(addr.Unmap(), ones).Masked()
	return p, p.IsValid()
}

// firstHost is the subnet's first address after the network address: the default gateway.
func firstHost(p netip.Prefix) netip.Addr { return p.Masked().Addr().Next() }
