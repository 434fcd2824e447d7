package network

import "fmt"

// Backend is what sets up a network's containers: berth itself (netlink and batched
// iptables-restore) or the CNI plugins. Each network and each attachment records the
// backend that made it, and teardown always uses the recorded one, so switching the
// default affects new networks only.
type Backend string

const (
	// BackendNative creates the veth pairs, addresses and routes through netlink
	// in-process and writes the firewall rules with iptables-restore batches.
	BackendNative Backend = "native"
	// BackendCNI runs the CNI plugins (bridge, host-local, portmap, firewall, tuning).
	BackendCNI Backend = "cni"
)

// ParseBackend reads a backend name; "" is the default, native.
func ParseBackend(s string) (Backend, error) {
	switch Backend(s) {
	case "", BackendNative:
		return BackendNative, nil
	case BackendCNI:
		return BackendCNI, nil
	}
	return "", fmt.Errorf("network backend %q: must be %q or %q", s, BackendNative, BackendCNI)
}

// recordedBackend is the backend of a stored network or attachment: state written
// before backends were recorded was made by the CNI plugins.
func recordedBackend(b Backend) Backend {
	if b == "" {
		return BackendCNI
	}
	return b
}

// attachBackend is the backend an attachment to nets uses. A container is set up by
// one backend, so that its interfaces are named and undone in one place: native when
// every network is native, otherwise CNI, which also works on a native network (the
// bridge and the host-local leases are the same; the plugins' rules are per container
// and go with CNI DEL).
func attachBackend(nets []recordedNet) Backend {
	for _, n := range nets {
		if recordedBackend(n.Net.Backend) != BackendNative {
			return BackendCNI
		}
	}
	return BackendNative
}
