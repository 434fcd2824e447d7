package network

import (
	"context"
	"errors"
	"fmt"

	gocni "github.com/containerd/go-cni"
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

// del runs CNI DEL for the record's networks in nsPath. With the namespace gone it runs
// DEL without one, as the CNI spec allows for best-effort cleanup. Then it sweeps the
// rules that such a DEL leaves (the bridge plugin needs the namespace to find the
// addresses it masqueraded); the sweep costs two iptables-save runs, so it always runs.
func (m *Manager) del(ctx context.Context, rec *record, nsPath string) error {
	if m.cniErr != nil {
		return m.cniErr
	}
	live := isNetNS(nsPath)
	if !live {
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
	for _, n := range rec.Networks {
		errs = append(errs, forFamilies(n.Net, func(v6 bool) error {
			return sweepContainer(v6, n.Net.CNIName, rec.ContainerID)
		}))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	releasePorts(rec.Ports, m.attachmentFile(rec.ContainerID))
	return nil
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
