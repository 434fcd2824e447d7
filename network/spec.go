package network

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"time"
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

// Network is a network that exists in the data root.
type Network struct {
	// Spec is the spec it was created with, with Subnets (and their gateways) filled in.
	Spec
	// Bridge is the host's bridge device.
	Bridge string `json:"bridge"`
	// CNIName is the name the CNI plugins know the network by: it appears in their
	// iptables comments and in CNI's result cache (/var/lib/cni/results).
	CNIName string    `json:"cniName"`
	Created time.Time `json:"created"`
	// Backend made the network and sets up its containers; "" for a network made
	// before backends were recorded, which is CNI's.
	Backend Backend `json:"backend,omitempty"`
}

// namePattern is what Docker accepts for network names; it is also safe as a file name
// and as a CNI network name.
var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// containerIDPattern is libcni's rule for container IDs; berth also uses them as file names.
var containerIDPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

const maxIfNameLen = 15 // IFNAMSIZ - 1

// validate checks s before anything is created.
func (s Spec) validate() error {
	if !namePattern.MatchString(s.Name) || len(s.Name) > 200 {
		return fmt.Errorf("name %q: use letters, digits, '_', '.', '-' (at most 200, first a letter or digit)", s.Name)
	}
	if s.MTU != 0 && (s.MTU < 68 || s.MTU > 65535) {
		return fmt.Errorf("mtu %d: must be between 68 and 65535", s.MTU)
	}
	if err := validIfName(s.BridgeName); s.BridgeName != "" && err != nil {
		return fmt.Errorf("bridge name: %w", err)
	}
	var seen4, seen6 bool
	for i, sn := range s.Subnets {
		if err := sn.validate(); err != nil {
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

func (sn Subnet) validate() error {
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

// validIfName applies the kernel's rules for interface names.
func validIfName(name string) error {
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

// bridgeName derives a host-unique bridge name from the data root and the network name.
func bridgeName(dataRoot, name string) string { return "br-" + hashID(dataRoot, name) }

// cniName derives the CNI network name; see the package doc for why it is not the name.
func cniName(dataRoot, name string) string { return "berth-" + hashID(dataRoot, name) }

// conflict names the first field in which s asks for something n does not have. Fields
// s leaves empty (subnets, bridge name) accept whatever n has.
func (n Network) conflict(s Spec) error {
	switch {
	case s.Internal != n.Internal:
		return fmt.Errorf("internal: %v, existing network has %v: %w", s.Internal, n.Internal, ErrConflict)
	case s.EnableIPv6 != n.EnableIPv6:
		return fmt.Errorf("enable_ipv6: %v, existing network has %v: %w", s.EnableIPv6, n.EnableIPv6, ErrConflict)
	case s.MTU != n.MTU:
		return fmt.Errorf("mtu: %d, existing network has %d: %w", s.MTU, n.MTU, ErrConflict)
	case s.BridgeName != "" && s.BridgeName != n.Bridge:
		return fmt.Errorf("bridge name: %q, existing network has %q: %w", s.BridgeName, n.Bridge, ErrConflict)
	case !maps.Equal(s.Labels, n.Labels):
		return fmt.Errorf("labels: %v, existing network has %v: %w", s.Labels, n.Labels, ErrConflict)
	}
	for i, want := range s.Subnets {
		if !n.hasSubnet(want) {
			return fmt.Errorf("subnets[%d]: %s, existing network has %v: %w", i, want.Subnet, n.Subnets, ErrConflict)
		}
	}
	return nil
}

func (n Network) hasSubnet(want Subnet) bool {
	for _, have := range n.Subnets {
		if have.Subnet == want.Subnet &&
			(!want.Gateway.IsValid() || want.Gateway == have.Gateway) &&
			want.IPRange == have.IPRange {
			return true
		}
	}
	return false
}

// subnet returns n's subnet of one address family.
func (n Network) subnet(v6 bool) (Subnet, bool) {
	for _, sn := range n.Subnets {
		if sn.Subnet.Addr().Is6() == v6 {
			return sn, true
		}
	}
	return Subnet{}, false
}
