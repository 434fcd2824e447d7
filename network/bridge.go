package network

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ensureBridge makes the bridge exist, up, with exactly the gateway addresses of
// subnets. The bridge plugin would create it on the first ADD, but creating it here puts
// the subnet's route on the host at once, which is what keeps a concurrent allocation
// elsewhere from picking the same subnet. owned says the name was derived by berth, so
// a bridge of that name with other addresses is stale berth state and is recreated;
// a user-chosen name is never taken over.
func ensureBridge(name string, subnets []Subnet, mtu int, owned bool) error {
	want := make([]string, 0, len(subnets))
	for _, sn := range subnets {
		want = append(want, gatewayNet(sn).String())
	}
	link, err := netlink.LinkByName(name)
	if err == nil {
		if _, ok := link.(*netlink.Bridge); !ok {
			return fmt.Errorf("bridge %s: a %s device of that name exists", name, link.Type())
		}
		have, err := globalAddrs(link)
		if err != nil {
			return fmt.Errorf("bridge %s: %w", name, err)
		}
		slices.Sort(have)
		slices.Sort(want)
		if slices.Equal(have, want) {
			if mac := bridgeMAC(name); owned && !bytes.Equal(link.Attrs().HardwareAddr, mac) {
				// A bridge from before berth fixed its MAC address.
				if err := netlink.LinkSetHardwareAddr(link, mac); err != nil {
					return fmt.Errorf("bridge %s: set MAC address: %w", name, err)
				}
			}
			return netlink.LinkSetUp(link)
		}
		if !owned {
			return fmt.Errorf("bridge %s: exists with addresses %v, want %v", name, have, want)
		}
		if err := netlink.LinkDel(link); err != nil {
			return fmt.Errorf("bridge %s: delete stale bridge: %w", name, err)
		}
	} else if !errors.As(err, &netlink.LinkNotFoundError{}) {
		return fmt.Errorf("bridge %s: %w", name, err)
	}
	return createBridge(name, subnets, mtu)
}

func createBridge(name string, subnets []Subnet, mtu int) error {
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: mtu, TxQLen: -1, HardwareAddr: bridgeMAC(name)}}
	if err := netlink.LinkAdd(br); err != nil {
		return fmt.Errorf("create bridge %s: %w", name, err)
	}
	for _, sn := range subnets {
		addr := &netlink.Addr{IPNet: gatewayNet(sn)}
		if sn.Subnet.Addr().Is6() {
			// No duplicate address detection: the bridge has no ports yet, and a
			// tentative address would make the first container wait for it.
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := netlink.AddrAdd(br, addr); err != nil {
			_ = netlink.LinkDel(br)
			return fmt.Errorf("create bridge %s: add address %s: %w", name, addr.IPNet, err)
		}
	}
	if err := netlink.LinkSetUp(br); err != nil {
		_ = netlink.LinkDel(br)
		return fmt.Errorf("create bridge %s: set up: %w", name, err)
	}
	return nil
}

// bridgeMAC is the bridge's own, fixed MAC address, derived from its host-unique name.
// Without one Linux gives a bridge the lowest address among its ports, so the gateway's
// MAC changes when that port's container leaves, and the other containers, whose ARP
// and neighbour caches hold the old one, lose their gateway (the DNS responder, the way
// out) for up to a minute. An address set by hand is one the kernel keeps.
func bridgeMAC(name string) net.HardwareAddr {
	sum := sha256.Sum256([]byte("berth bridge " + name))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = mac[0]&^0x01 | 0x02 // unicast, locally administered
	return mac
}

// deleteBridge removes the bridge; a missing one is success.
func deleteBridge(name string) error {
	link, err := netlink.LinkByName(name)
	if errors.As(err, &netlink.LinkNotFoundError{}) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete bridge %s: %w", name, err)
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return fmt.Errorf("delete bridge %s: it is a %s device", name, link.Type())
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("delete bridge %s: %w", name, err)
	}
	return nil
}

// globalAddrs are the link's addresses other than IPv6 link-local ones, which the kernel
// adds by itself.
func globalAddrs(link netlink.Link) ([]string, error) {
	addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range addrs {
		if a.IP.IsLinkLocalUnicast() {
			continue
		}
		out = append(out, a.IPNet.String())
	}
	return out, nil
}

// gatewayNet is the gateway address with the subnet's prefix length, as the bridge
// plugin puts it on the bridge.
func gatewayNet(sn Subnet) *net.IPNet {
	return &net.IPNet{
		IP:   net.IP(sn.Gateway.AsSlice()),
		Mask: net.CIDRMask(sn.Subnet.Bits(), sn.Subnet.Addr().BitLen()),
	}
}
