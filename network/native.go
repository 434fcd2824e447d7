package network

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The native backend does in-process what the CNI chain does through five plugin
// processes per network: loopback up; per network a lease (host-local's files, see
// ipam.go), a veth pair whose container end is created right in the namespace, on the
// bridge with hairpin mode, the addresses and the default route; then the published
// ports' rules, batched with every other container's (fwapply.go). A network's own
// rules (masquerading, forward accepts, isolation) are Ensure's, not the container's.

// addNative sets up the record's interfaces and ports, the networks' rules (rules)
// being written meanwhile. On failure it undoes what it did; the record stays for
// Detach if the undo fails too.
func (m *Manager) addNative(ctx context.Context, rec *record, ports []PortMapping, rules <-chan error) ([]Interface, []PortMapping, error) {
	var published []PortMapping
	if len(ports) > 0 && rec.publishes() {
		var err error
		if published, err = reservePorts(ports, m.attachmentFile(rec.ContainerID)); err != nil {
			<-rules
			m.forget(rec.ContainerID)
			return nil, nil, err
		}
		rec.Ports = published
		// a crash during set-up must leave the ports Detach has to unmap
		if err := writeJSON(m.attachmentFile(rec.ContainerID), rec); err != nil {
			<-rules
			return nil, nil, m.undo(ctx, rec, fmt.Errorf("save state: %w", err))
		}
	}
	err := m.setUpNative(ctx, rec)
	if rerr := <-rules; err == nil {
		err = rerr
	}
	if err == nil {
		err = m.addPortRules(rec)
	}
	if err != nil {
		return nil, nil, m.undo(ctx, rec, err)
	}
	return rec.Interfaces, published, nil
}

// setUpNative creates the interfaces in the namespace, recording each one in
// rec.Interfaces as soon as it has its addresses, so that an undo knows what to free.
func (m *Manager) setUpNative(ctx context.Context, rec *record) error {
	ns, err := netns.GetFromPath(rec.NetNS)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", rec.NetNS, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("enter netns %s: %w", rec.NetNS, err)
	}
	defer h.Close()
	lo := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: 1}} // loopback is 1 in every namespace
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	rec.Interfaces = rec.Interfaces[:0]
	for _, n := range rec.Networks {
		if err := ctx.Err(); err != nil {
			return err
		}
		iface, err := m.addInterface(h, ns, rec.ContainerID, n)
		if iface.IPv4.IsValid() || iface.IPv6.IsValid() {
			rec.Interfaces = append(rec.Interfaces, iface)
		}
		if err != nil {
			return fmt.Errorf("network %q: %w", n.Network, err)
		}
	}
	return nil
}

// addInterface leases the addresses and creates the container's interface on one
// network. The interface returned carries the leased addresses even on failure.
func (m *Manager) addInterface(h *netlink.Handle, ns netns.NsHandle, containerID string, n recordedNet) (Interface, error) {
	iface := Interface{Network: n.Network, Name: n.Iface.IfName}
	addrs, err := m.leaseStore(n.Net).allocate(n.Net, containerID, n.Iface.IfName, n.Iface.IPv4, n.Iface.IPv6)
	if err != nil {
		return iface, err
	}
	var ipnets []*net.IPNet
	for _, a := range addrs {
		sn, _ := n.Net.subnet(a.Is6())
		if a.Is4() {
			iface.IPv4, iface.Gateway = a, sn.Gateway
		} else {
			iface.IPv6, iface.Gateway6 = a, sn.Gateway
		}
		ipnets = append(ipnets, &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(sn.Subnet.Bits(), a.BitLen())})
	}
	mac, err := containerMAC(n.Iface.MAC, iface.IPv4)
	if err != nil {
		return iface, err
	}
	iface.MAC = mac.String()
	if err := createVeth(n.Net, hostVethName(n.Net, containerID, n.Iface.IfName), n.Iface.IfName, mac, ns); err != nil {
		return iface, err
	}
	link, err := h.LinkByName(n.Iface.IfName)
	if err != nil {
		return iface, fmt.Errorf("find %s in the netns: %w", n.Iface.IfName, err)
	}
	for _, ipn := range ipnets {
		// No duplicate address detection: the lease makes the address ours, and a
		// tentative IPv6 address would not answer for a second.
		if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipn, Flags: unix.IFA_F_NODAD}); err != nil {
			return iface, fmt.Errorf("add address %s to %s: %w", ipn, n.Iface.IfName, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return iface, fmt.Errorf("set %s up: %w", n.Iface.IfName, err)
	}
	if !n.Iface.DefaultRoute || n.Net.Internal {
		return iface, nil
	}
	for _, gw := range []netip.Addr{iface.Gateway, iface.Gateway6} {
		if !gw.IsValid() {
			continue
		}
		if err := h.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw.AsSlice()}); err != nil {
			return iface, fmt.Errorf("add default route via %s: %w", gw, err)
		}
	}
	return iface, nil
}

// createVeth creates the pair: hostName on the network's bridge, in hairpin mode (a
// container reaches its own published ports), and ifName in the container's
// namespace, where the kernel creates it directly.
func createVeth(n Network, hostName, ifName string, mac net.HardwareAddr, ns netns.NsHandle) error {
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return fmt.Errorf("find bridge %s (run up again to recreate it): %w", n.Bridge, err)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU, attrs.MasterIndex, attrs.Flags = hostName, n.MTU, br.Attrs().Index, net.FlagUp
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: ifName, PeerHardwareAddr: mac,
		PeerNamespace: netlink.NsFd(ns), PeerTxQLen: -1}
	err = netlink.LinkAdd(veth)
	if errors.Is(err, unix.EEXIST) {
		// the host end of a crashed attach of the same container (its netns is gone)
		if old, lerr := netlink.LinkByName(hostName); lerr == nil {
			_ = netlink.LinkDel(old)
			err = netlink.LinkAdd(veth)
		}
	}
	if err != nil {
		return fmt.Errorf("create veth pair %s/%s: %w", hostName, ifName, err)
	}
	if err := netlink.LinkSetHairpin(veth, true); err != nil {
		_ = netlink.LinkDel(veth)
		return fmt.Errorf("set hairpin mode on %s: %w", hostName, err)
	}
	return nil
}

// hostVethName is the host end's name: fixed per data root, network, container and
// interface, so that a leftover can be found by name.
func hostVethName(n Network, containerID, ifName string) string {
	return "vb" + hashID(n.CNIName, containerID, ifName)
}

// containerMAC is the requested MAC address or one derived from the IPv4 address, as
// Docker does (02:42 and the address): an address handed to a new container comes
// with the same MAC as before, so the neighbours' ARP caches stay right. Without
// IPv4 it is random, locally administered.
func containerMAC(requested string, v4 netip.Addr) (net.HardwareAddr, error) {
	if requested != "" {
		return net.ParseMAC(requested)
	}
	mac := make(net.HardwareAddr, 6)
	if v4.IsValid() {
		b := v4.As4()
		mac[0], mac[1] = 0x02, 0x42
		copy(mac[2:], b[:])
		return mac, nil
	}
	if _, err := rand.Read(mac); err != nil {
		return nil, err
	}
	mac[0] = mac[0]&^0x01 | 0x02
	return mac, nil
}

// addPortRules writes the published ports' rules of the network that takes them, in
// each family the container has an address of. When the write fails because the
// network's shared chains are gone (someone flushed the tables), Ensure's rules are
// put back and the write is tried once more.
func (m *Manager) addPortRules(rec *record) error {
	for _, f := range rec.portScripts() {
		err := queueFor(f.v6).apply(f.add)
		if err != nil {
			if ensureNetworkRules(f.net) == nil {
				err = queueFor(f.v6).apply(f.add)
			}
		}
		if err != nil {
			return fmt.Errorf("publish ports: %w", err)
		}
		forgetUDPFlows(f.v6, rec.Ports)
	}
	return nil
}

// forgetUDPFlows deletes the conntrack entries of the published UDP ports, as portmap
// does: a flow that a client kept sending to while the port was unmapped (or mapped
// to the container before this one) would otherwise never reach the new container.
// It is best effort: a stale flow ends by itself once the client stops sending.
func forgetUDPFlows(v6 bool, ports []PortMapping) {
	family := netlink.InetFamily(unix.AF_INET)
	if v6 {
		family = unix.AF_INET6
	}
	for _, p := range ports {
		if p.Protocol != "udp" || p.HostPort == 0 {
			continue
		}
		f := &netlink.ConntrackFilter{}
		if f.AddProtocol(unix.IPPROTO_UDP) == nil && f.AddPort(netlink.ConntrackOrigDstPort, p.HostPort) == nil {
			_, _ = netlink.ConntrackDeleteFilters(netlink.ConntrackTable, family, f)
		}
	}
}

// familyScripts are the add and delete scripts of a container's ports in one family.
type familyScripts struct {
	v6       bool
	net      Network
	add, del *script
}

// portScripts are the record's port rules, per family of the publishing network. The
// delete scripts need no address, so they are there also for a record whose set-up
// never finished.
func (rec *record) portScripts() []familyScripts {
	ports := pickedPorts(rec.Ports)
	if len(ports) == 0 {
		return nil
	}
	var out []familyScripts
	for _, n := range rec.Networks {
		if !n.Iface.Ports || n.Net.Internal {
			continue
		}
		var addrs [2]netip.Addr
		for _, ifc := range rec.Interfaces {
			if ifc.Network == n.Network {
				addrs = [2]netip.Addr{ifc.IPv4, ifc.IPv6}
			}
		}
		for i, v6 := range []bool{false, true} {
			sn, ok := n.Net.subnet(v6)
			if !ok {
				continue
			}
			addr := addrs[i]
			if !addr.IsValid() {
				addr = sn.Gateway // any address of the family: deletes do not name it
			}
			add, del := portRules(n.Net, rec.ContainerID, addr, ports)
			if !add.empty() {
				out = append(out, familyScripts{v6: v6, net: n.Net, add: add, del: del})
			}
		}
	}
	return out
}
