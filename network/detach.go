package network

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	gocni "github.com/containerd/go-cni"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Detach tears down all of the container's networking: CNI DEL for every network it was
// attached to, then the namespace (when CreateNetNS made it). An empty nsPath means the
// recorded one, or the one CreateNetNS would make. When the namespace is already gone
// (a crash, a host reboot) DEL still frees the IPAM leases and the plugins' rules, and
// Detach deletes the masquerade rules and CNI-… chains that the bridge plugin cannot
// find without the namespace. It is idempotent.
//
// The networks come from the record Attach saved; req.Networks is only a fallback when
// there is none, and then only iptables leftovers are swept (Attach saves the record
// before its first ADD, so without one there was no ADD to undo). When DEL fails, the
// record is kept, and Remove keeps refusing, until a retry succeeds.
func (m *Manager) Detach(ctx context.Context, nsPath string, req AttachRequest) error {
	id := req.ContainerID
	if !containerIDPattern.MatchString(id) {
		return fmt.Errorf("detach container %q: invalid container ID", id)
	}
	var rec record
	err := readJSON(m.attachmentFile(id), &rec)
	switch {
	case errors.Is(err, ErrNotFound):
		if err := m.sweepRequested(req); err != nil {
			return fmt.Errorf("detach container %q: %w", id, err)
		}
		if nsPath == "" {
			nsPath = m.netNSPath(id) // CreateNetNS may have run without an Attach
		}
	case err != nil:
		return fmt.Errorf("detach container %q: %w", id, err)
	default:
		if nsPath == "" {
			nsPath = rec.NetNS
		}
		if err := m.del(ctx, &rec, nsPath); err != nil {
			return fmt.Errorf("detach container %q: %w", id, err)
		}
	}
	if err := m.deleteNetNS(nsPath); err != nil {
		return fmt.Errorf("detach container %q: %w", id, err)
	}
	m.forget(id)
	return nil
}

// del tears down the record's networks in nsPath with the backend that set them up.
// For CNI it runs CNI DEL. With the namespace gone it runs
// DEL without one, as the CNI spec allows for best-effort cleanup. Then it sweeps the
// rules that such a DEL leaves: the bridge plugin finds the addresses it masqueraded on
// the container's interfaces, so without the namespace, or without an interface (a DEL
// interrupted after deleting it), its masquerade rules stay. The sweep costs two
// iptables-save runs, so it is skipped when DEL succeeded on every recorded interface
// with its recorded addresses: then DEL itself left nothing.
func (m *Manager) del(ctx context.Context, rec *record, nsPath string) error {
	if recordedBackend(rec.Backend) == BackendNative {
		return m.delNative(rec)
	}
	if m.cniErr != nil {
		return m.cniErr
	}
	complete := false
	if isNetNS(nsPath) {
		complete = hasInterfaces(nsPath, rec)
	} else {
		nsPath = ""
	}
	cni, err := m.loadCNI(rec.Networks)
	if err != nil {
		return err
	}
	var opts []gocni.NamespaceOpts
	// portmap's DEL does nothing without mappings; which ones does not matter,
	// but it refuses port 0, which a record saved before the ports were
	// picked still holds
	if ports := pickedPorts(rec.Ports); len(ports) > 0 && rec.publishes() {
		opts = append(opts, gocni.WithCapabilityPortMap(cniPorts(ports)))
	}
	delErr := cni.Remove(ctx, rec.ContainerID, nsPath, opts...)
	if delErr != nil {
		delErr = fmt.Errorf("CNI DEL: %w", delErr)
	}
	errs := []error{delErr}
	if delErr != nil || !complete {
		for _, n := range rec.Networks {
			errs = append(errs, forFamilies(n.Net, func(v6 bool) error {
				return sweepContainer(v6, n.Net.CNIName, rec.ContainerID)
			}))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	releasePorts(rec.Ports, m.attachmentFile(rec.ContainerID))
	return nil
}

// hasInterfaces reports whether the namespace holds every interface the record's ADD
// made, each with the addresses ADD gave it: what the bridge plugin's DEL needs to find
// its masquerade rules. Any doubt (a record saved before ADD finished, a namespace that
// cannot be entered) is a no.
func hasInterfaces(nsPath string, rec *record) bool {
	if len(rec.Interfaces) != len(rec.Networks) {
		return false
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return false
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return false
	}
	defer h.Close()
	for _, iface := range rec.Interfaces {
		if !hasAddrs(h, iface) {
			return false
		}
	}
	return true
}

// hasAddrs reports whether the interface exists in h's namespace with its addresses.
func hasAddrs(h *netlink.Handle, iface Interface) bool {
	link, err := h.LinkByName(iface.Name)
	if err != nil {
		return false
	}
	addrs, err := h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return false
	}
	for _, want := range []netip.Addr{iface.IPv4, iface.IPv6} {
		if want.IsValid() && !slices.ContainsFunc(addrs, func(a netlink.Addr) bool {
			got, ok := netip.AddrFromSlice(a.IP)
			return ok && got.Unmap() == want
		}) {
			return false
		}
	}
	return true
}

// sweepRequested deletes iptables leftovers of the requested networks for a container
// that has no record.
func (m *Manager) sweepRequested(req AttachRequest) error {
	var errs []error
	for _, a := range req.Networks {
		n, err := m.get(a.Network)
		if err != nil {
			n = Network{Spec: Spec{Name: a.Network}, CNIName: cniName(m.dataRoot, a.Network)}
		}
		errs = append(errs, forFamilies(n, func(v6 bool) error {
			return sweepContainer(v6, n.CNIName, req.ContainerID)
		}))
	}
	return errors.Join(errs...)
}

func pickedPorts(ports []PortMapping) []PortMapping {
	var out []PortMapping
	for _, p := range ports {
		if p.HostPort != 0 {
			out = append(out, p)
		}
	}
	return out
}
