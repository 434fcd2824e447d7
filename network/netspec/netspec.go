// Package netspec holds what a caller asks of berth's networks and what it gets back:
// the network spec, attachments, interfaces and published ports. It has no I/O, so the
// translation of a Compose file can produce these without importing the network manager.
package netspec

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Spec is a network as berth wants it.
type Spec struct {
	// Name is the full network name, e.g. "myproj_default".
	Name string `json:"name"`
	// Labels are stored with the network (com.docker.compose.project, …network, …).
	Labels map[string]string `json:"labels,omitempty"`
	// Internal networks have no default route, no masquerading, and no forwarding to or
	// from anywhere but their own bridge.
	Internal bool `json:"internal,omitempty"`
	// Subnets are the user's IPAM config, at most one per address family. Empty: one IPv4
	// subnet (and with EnableIPv6 one IPv6 subnet) is allocated from the pool.
	Subnets []Subnet `json:"subnets,omitempty"`
	// EnableIPv6 adds an IPv6 subnet when Subnets names none.
	EnableIPv6 bool `json:"enableIPv6,omitempty"`
	// MTU of the bridge and the containers' interfaces; 0 leaves the kernel's default.
	MTU int `json:"mtu,omitempty"`
	// BridgeName overrides the derived bridge name (driver_opts
	// com.docker.network.bridge.name). It must be unique on the host.
	BridgeName string `json:"bridgeName,omitempty"`
}

// Subnet is one address range of a network.
type Subnet struct {
	Subnet netip.Prefix `json:"subnet"`
	// Gateway is the bridge's address; zero means the first host address of Subnet.
	Gateway netip.Addr `json:"gateway,omitzero"`
	// IPRange limits dynamic addresses to a part of Subnet; zero means all of it.
	IPRange netip.Prefix `json:"ipRange,omitzero"`
}

// Attachment asks for a container's interface on one network.
type Attachment struct {
	Network string `json:"network"`
	// IPv4 and IPv6 are optional static addresses inside the network's subnets (and,
	// host-local being what it is, inside its ip_range when it has one).
	IPv4 netip.Addr `json:"ipv4,omitzero"`
	IPv6 netip.Addr `json:"ipv6,omitzero"`
	// MAC is an optional unicast MAC address, e.g. "02:42:ac:11:00:02".
	MAC string `json:"mac,omitempty"`
	// Aliases are kept with the attachment for name resolution; CNI does not use them.
	Aliases []string `json:"aliases,omitempty"`
	// Priority orders the interfaces as Docker does: higher priority first, equal
	// priorities by network name. The first interface is eth0, and the first
	// non-internal network in that order carries the default route and the published
	// ports.
	Priority int `json:"priority,omitempty"`
}

// AttachRequest is what one container needs: its networks and its published ports.
type AttachRequest struct {
	ContainerID string
	Networks    []Attachment
	Ports       []PortMapping
}

// Interface is a container's interface as CNI set it up.
type Interface struct {
	Network  string     `json:"network"`
	Name     string     `json:"name"` // eth0, eth1, …
	IPv4     netip.Addr `json:"ipv4,omitzero"`
	IPv6     netip.Addr `json:"ipv6,omitzero"`
	MAC      string     `json:"mac"`
	Gateway  netip.Addr `json:"gateway,omitzero"`
	Gateway6 netip.Addr `json:"gateway6,omitzero"`
}

// PortMapping publishes a container port on the host.
type PortMapping struct {
	// HostIP is the host address to publish on; "" means all of them.
	HostIP string `json:"hostIP,omitempty"`
	// HostPort 0 picks a free port; Attach returns the one it picked.
	HostPort      uint16 `json:"hostPort"`
	ContainerPort uint16 `json:"containerPort"`
	// Protocol is "tcp" (also when empty) or "udp".
	Protocol string `json:"protocol,omitempty"`
}

func (p PortMapping) String() string {
	host := strconv.Itoa(int(p.HostPort))
	if p.HostIP != "" {
		host = net.JoinHostPort(p.HostIP, host)
	}
	return fmt.Sprintf("%s:%d/%s", host, p.ContainerPort, p.Protocol)
}

// namePattern is what Docker accepts for network names; it is also safe as a file name
// and as a CNI network name.
var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// ValidName says whether name is a valid network name.
func ValidName(name string) bool { return namePattern.MatchString(name) }

const maxIfNameLen = 15 // IFNAMSIZ - 1

// Check checks s before anything is created.
func (s Spec) Check() error {
	if !namePattern.MatchString(s.Name) || len(s.Name) > 200 {
		return fmt.Errorf("name %q: use letters, digits, '_', '.', '-' (at most 200, first a letter or digit)", s.Name)
	}
	if s.MTU != 0 && (s.MTU < 68 || s.MTU > 65535) {
		return fmt.Errorf("mtu %d: must be between 68 and 65535", s.MTU)
	}
	if err := ValidIfName(s.BridgeName); s.BridgeName != "" && err != nil {
		return fmt.Errorf("bridge name: %w", err)
	}
	var seen4, seen6 bool
	for i, sn := range s.Subnets {
		if err := sn.check(); err != nil {
			return fmt.Errorf("subnets[%d]: %w", i, err)
		}
		seen := &seen4
		if sn.Subnet.Addr().Is6() {
			seen = &seen6
			if !s.EnableIPv6 {
				return fmt.Errorf("subnets[%d]: IPv6 subnet %s needs enable_ipv6", i, sn.Subnet)
			}
		}
		if *seen {
			return fmt.Errorf("subnets[%d]: only one subnet per address family is supported", i)
		}
		*seen = true
	}
	return nil
}

func (sn Subnet) check() error {
	p := sn.Subnet
	if !p.IsValid() {
		return fmt.Errorf("subnet: missing")
	}
	if p.Addr().Is4In6() || p.Addr().Zone() != "" {
		return fmt.Errorf("subnet %s: not a plain IPv4 or IPv6 prefix", p)
	}
	if p != p.Masked() {
		return fmt.Errorf("subnet %s: host bits set, did you mean %s?", p, p.Masked())
	}
	if p.Addr().Is4() && p.Bits() > 30 || p.Addr().Is6() && p.Bits() > 126 {
		return fmt.Errorf("subnet %s: too small for a gateway and a container", p)
	}
	if sn.Gateway.IsValid() && (!p.Contains(sn.Gateway) || sn.Gateway == p.Addr()) {
		return fmt.Errorf("gateway %s: not a host address of subnet %s", sn.Gateway, p)
	}
	if r := sn.IPRange; r.IsValid() {
		if r != r.Masked() {
			return fmt.Errorf("ip_range %s: host bits set, did you mean %s?", r, r.Masked())
		}
		if r.Addr().Is4() != p.Addr().Is4() || r.Bits() < p.Bits() || !p.Contains(r.Addr()) {
			return fmt.Errorf("ip_range %s: not inside subnet %s", r, p)
		}
	}
	return nil
}

// ValidIfName applies the kernel's rules for interface names.
func ValidIfName(name string) error {
	if name == "" || len(name) > maxIfNameLen || name == "." || name == ".." {
		return fmt.Errorf("%q: need 1 to %d characters", name, maxIfNameLen)
	}
	for _, r := range name {
		if r == '/' || r == ':' || r <= ' ' || r > '~' {
			return fmt.Errorf("%q: character %q not allowed in an interface name", name, r)
		}
	}
	return nil
}

// Validate checks a spec as the network manager's Ensure will, so a caller can refuse a
// bad project before it creates anything.
func (s Spec) Validate() error {
	if err := s.Check(); err != nil {
		return fmt.Errorf("network %q: %w", s.Name, err)
	}
	return nil
}

// Diff names the first field in which want differs from have, the spec of an existing
// network with its allocated subnets filled in, or returns "" when have satisfies want.
// Subnets want leaves empty are allocated, so only the subnets it names are compared.
func Diff(have, want Spec) string {
	switch {
	case want.Internal != have.Internal:
		return fmt.Sprintf("internal: %v, existing network has %v", want.Internal, have.Internal)
	case want.EnableIPv6 != have.EnableIPv6:
		return fmt.Sprintf("enable_ipv6: %v, existing network has %v", want.EnableIPv6, have.EnableIPv6)
	case want.MTU != have.MTU:
		return fmt.Sprintf("mtu: %d, existing network has %d", want.MTU, have.MTU)
	case !maps.Equal(want.Labels, have.Labels):
		return fmt.Sprintf("labels: %v, existing network has %v", want.Labels, have.Labels)
	}
	for i, sn := range want.Subnets {
		if !hasSubnet(have.Subnets, sn) {
			return fmt.Sprintf("subnets[%d]: %s (ipam.config), existing network has %s", i, sn.Subnet, subnetList(have.Subnets))
		}
	}
	return ""
}

func hasSubnet(have []Subnet, want Subnet) bool {
	for _, sn := range have {
		if sn.Subnet == want.Subnet &&
			(!want.Gateway.IsValid() || want.Gateway == sn.Gateway) &&
			want.IPRange == sn.IPRange {
			return true
		}
	}
	return false
}

func subnetList(sns []Subnet) string {
	out := make([]string, len(sns))
	for i, sn := range sns {
		out[i] = sn.Subnet.String()
	}
	return strings.Join(out, ", ")
}
