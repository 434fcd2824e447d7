package network

import (
	"fmt"
	"maps"
	"regexp"
	"time"

	"github.com/berth-dev/berth/network/netspec"
)

// The request and response types live in netspec, which has no I/O.
type (
	Spec          = netspec.Spec
	Subnet        = netspec.Subnet
	Attachment    = netspec.Attachment
	AttachRequest = netspec.AttachRequest
	Interface     = netspec.Interface
	PortMapping   = netspec.PortMapping
)

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
}

// containerIDPattern is libcni's rule for container IDs; berth also uses them as file names.
var containerIDPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

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
