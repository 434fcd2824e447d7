package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// nativeNet is the floor of berth's native backend: the same work with nothing
// around it. The bridge with its gateway address; the network's rules (masquerading
// and forward accepts, as berth writes them per network) with one iptables-restore;
// per container a veth pair straight into the namespace, on the bridge in hairpin
// mode, its address, loopback and the default route through netlink, the addresses
// counted up in memory; at the end one iptables-restore deletes the rules and the
// bridge goes. Its chains are its own (BFLOOR-…), so that declaring them flushes
// nobody else's.
type nativeNet struct {
	o       options
	subnet  netip.Prefix
	gateway netip.Addr
	next    atomic.Uint32
	started bool
}

func newNativeNet(o options) (*nativeNet, error) {
	p, err := netip.ParsePrefix(o.subnet)
	if err != nil || !p.Addr().Is4() {
		return nil, fmt.Errorf("-subnet %q: an IPv4 prefix: %v", o.subnet, err)
	}
	p = p.Masked()
	return &nativeNet{o: o, subnet: p, gateway: p.Addr().Next()}, nil
}

func (n *nativeNet) rules(add bool) string {
	br, sn := n.o.bridge, n.subnet.String()
	if add {
		return fmt.Sprintf(`*filter
:BFLOOR-FORWARD - [0:0]
-I FORWARD 1 -j BFLOOR-FORWARD
-A BFLOOR-FORWARD -o %[1]s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A BFLOOR-FORWARD -o %[1]s -m conntrack --ctstate DNAT -j ACCEPT
-A BFLOOR-FORWARD -i %[1]s -j ACCEPT
COMMIT
*nat
:BFLOOR-MASQ - [0:0]
-A BFLOOR-MASQ -d %[2]s -j ACCEPT
-A BFLOOR-MASQ ! -d 224.0.0.0/4 -j MASQUERADE
-A POSTROUTING -s %[2]s -j BFLOOR-MASQ
COMMIT
`, br, sn)
	}
	return fmt.Sprintf(`*filter
-D FORWARD -j BFLOOR-FORWARD
-F BFLOOR-FORWARD
-X BFLOOR-FORWARD
COMMIT
*nat
-D POSTROUTING -s %s -j BFLOOR-MASQ
-F BFLOOR-MASQ
-X BFLOOR-MASQ
COMMIT
`, sn)
}

func restore(script string) error {
	cmd := exec.Command("iptables-restore", "-w", "--noflush")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables-restore: %w: %s", err, out)
	}
	return nil
}

func (n *nativeNet) start() error {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = n.o.bridge
	br := &netlink.Bridge{LinkAttrs: attrs}
	if err := netlink.LinkAdd(br); err != nil {
		return fmt.Errorf("create bridge %s: %w", n.o.bridge, err)
	}
	n.started = true
	gw := &net.IPNet{IP: n.gateway.AsSlice(), Mask: net.CIDRMask(n.subnet.Bits(), 32)}
	if err := netlink.AddrAdd(br, &netlink.Addr{IPNet: gw}); err != nil {
		return fmt.Errorf("bridge address: %w", err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return fmt.Errorf("bridge up: %w", err)
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+n.o.bridge+"/route_localnet", []byte("1"), 0o644); err != nil {
		return err
	}
	return restore(n.rules(true))
}

func (n *nativeNet) setup(_ context.Context, id, nsPath string) error {
	addr := n.gateway
	for range n.next.Add(1) {
		addr = addr.Next()
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return err
	}
	defer ns.Close()
	br, err := netlink.LinkByName(n.o.bridge)
	if err != nil {
		return err
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MasterIndex, attrs.Flags = "bf"+id, br.Attrs().Index, net.FlagUp
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: "eth0", PeerNamespace: netlink.NsFd(ns), PeerTxQLen: -1}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("veth: %w", err)
	}
	if err := netlink.LinkSetHairpin(veth, true); err != nil {
		return err
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: 1}}); err != nil {
		return err
	}
	eth, err := h.LinkByName("eth0")
	if err != nil {
		return err
	}
	ipn := &net.IPNet{IP: addr.AsSlice(), Mask: net.CIDRMask(n.subnet.Bits(), 32)}
	if err := h.AddrAdd(eth, &netlink.Addr{IPNet: ipn, Flags: unix.IFA_F_NODAD}); err != nil {
		return err
	}
	if err := h.LinkSetUp(eth); err != nil {
		return err
	}
	return h.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: n.gateway.AsSlice()})
}

func (n *nativeNet) teardown(_ context.Context, _, nsPath string) error {
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return err
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	eth, err := h.LinkByName("eth0")
	if err != nil {
		return err
	}
	return h.LinkDel(eth)
}

func (n *nativeNet) finish() error {
	if !n.started {
		return nil
	}
	n.started = false
	err := restore(n.rules(false))
	if lerr := deleteLink(n.o.bridge); lerr != nil && err == nil {
		err = lerr
	}
	return err
}
