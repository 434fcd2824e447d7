package network

import (
	"fmt"
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
	// Backend made the network and sets up its containers; "" for a network made
	// before backends were recorded, which is CNI's.
	Backend Backend `json:"backend,omitempty"`
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
	if s.BridgeName != "" && s.BridgeName != n.Bridge {
		return fmt.Errorf("bridge name: %q, existing network has %q: %w", s.BridgeName, n.Bridge, ErrConflict)
	}
	if d := netspec.Diff(n.Spec, s); d != "" {
		return fmt.Errorf("%s: %w", d, ErrConflict)
	}
	return nil
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
