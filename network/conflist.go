package network

import (
	"encoding/json"
	"net/netip"
	"path/filepath"
)

// cniVersion is the newest spec version the Debian 12 plugins (1.1.1) implement.
const cniVersion = "1.0.0"

// ifaceConf is what one container's interface on one network adds to the network's
// conflist. Each container gets its own conflist because go-cni hands the same
// capability arguments to every network of a Setup call: a static IP or the published
// ports passed that way would reach all of the container's networks, and host-local
// fails on an IP outside its range. The values are recorded with the attachment, so
// that DEL runs exactly the chain that ADD ran.
type ifaceConf struct {
	IfName string     `json:"ifName"`
	IPv4   netip.Addr `json:"ipv4,omitzero"`
	IPv6   netip.Addr `json:"ipv6,omitzero"`
	MAC    string     `json:"mac,omitempty"`
	// DefaultRoute is set on the container's first non-internal network only: with two
	// default routes the first plugin to finish would win.
	DefaultRoute bool `json:"defaultRoute,omitempty"`
	// Ports adds portmap, which gets the published ports; it is set on the same network
	// as DefaultRoute, the one traffic from the host is DNATed to.
	Ports bool `json:"ports,omitempty"`
}

type conflistJSON struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Plugins    []any  `json:"plugins"`
}

type bridgeJSON struct {
	Type             string    `json:"type"`
	Bridge           string    `json:"bridge"`
	IsGateway        bool      `json:"isGateway"`
	IsDefaultGateway bool      `json:"isDefaultGateway"`
	IPMasq           bool      `json:"ipMasq"`
	HairpinMode      bool      `json:"hairpinMode"`
	MTU              int       `json:"mtu,omitempty"`
	Args             *argsJSON `json:"args,omitempty"`
	IPAM             ipamJSON  `json:"ipam"`
}

// argsJSON carries static IPs the way host-local reads them from its config
// ("args": {"cni": {"ips": […]}}); the bridge plugin passes its config on to IPAM.
type argsJSON struct {
	CNI struct {
		IPs []string `json:"ips"`
	} `json:"cni"`
}

type ipamJSON struct {
	Type    string        `json:"type"`
	DataDir string        `json:"dataDir"`
	Ranges  [][]rangeJSON `json:"ranges"`
}

type rangeJSON struct {
	Subnet     string `json:"subnet"`
	Gateway    string `json:"gateway"`
	RangeStart string `json:"rangeStart,omitempty"`
	RangeEnd   string `json:"rangeEnd,omitempty"`
}

type portmapJSON struct {
	Type         string          `json:"type"`
	Capabilities map[string]bool `json:"capabilities"`
	// SNAT makes published ports answer on 127.0.0.1 (portmap then sets route_localnet
	// on the bridge and masquerades the hairpin and localhost traffic).
	SNAT bool `json:"snat"`
}

type firewallJSON struct {
	Type    string `json:"type"`
	Backend string `json:"backend"`
	// IngressPolicy "same-bridge" drops traffic from other CNI bridges.
	IngressPolicy string `json:"ingressPolicy"`
}

type tuningJSON struct {
	Type string `json:"type"`
	MAC  string `json:"mac"`
}

// conflist renders n's plugin chain for one interface. ipamDir is host-local's dataDir:
// under the data root, so separate data roots never share leases.
func conflist(n Network, ipamDir string, c ifaceConf) ([]byte, error) {
	br := bridgeJSON{
		Type:             "bridge",
		Bridge:           n.Bridge,
		IsGateway:        true,
		IsDefaultGateway: c.DefaultRoute && !n.Internal,
		IPMasq:           !n.Internal,
		HairpinMode:      true,
		MTU:              n.MTU,
		IPAM:             ipamJSON{Type: "host-local", DataDir: filepath.Clean(ipamDir)},
	}
	for _, sn := range n.Subnets {
		br.IPAM.Ranges = append(br.IPAM.Ranges, []rangeJSON{rangeOf(sn)})
	}
	var ips []string
	for _, ip := range []netip.Addr{c.IPv4, c.IPv6} {
		if ip.IsValid() {
			ips = append(ips, ip.String())
		}
	}
	if len(ips) > 0 {
		br.Args = &argsJSON{}
		br.Args.CNI.IPs = ips
	}
	plugins := []any{br}
	if c.Ports && !n.Internal {
		plugins = append(plugins, portmapJSON{Type: "portmap", Capabilities: map[string]bool{"portMappings": true}, SNAT: true})
	}
	plugins = append(plugins, firewallJSON{Type: "firewall", Backend: "iptables", IngressPolicy: "same-bridge"})
	if c.MAC != "" {
		plugins = append(plugins, tuningJSON{Type: "tuning", MAC: c.MAC})
	}
	return json.MarshalIndent(conflistJSON{CNIVersion: cniVersion, Name: n.CNIName, Plugins: plugins}, "", "  ")
}

// rangeOf is sn as a host-local range. The range's ends are clipped to host addresses:
// host-local hands out whatever lies between them.
func rangeOf(sn Subnet) rangeJSON {
	r := rangeJSON{Subnet: sn.Subnet.String(), Gateway: sn.Gateway.String()}
	if !sn.IPRange.IsValid() {
		return r
	}
	start, end := sn.IPRange.Masked().Addr(), lastAddr(sn.IPRange)
	if first := firstHost(sn.Subnet); start.Less(first) {
		start = first
	}
	if last := lastAddr(sn.Subnet); sn.Subnet.Addr().Is4() && end == last {
		end = end.Prev() // the broadcast address
	}
	r.RangeStart, r.RangeEnd = start.String(), end.String()
	return r
}
