package network

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// delNative undoes addNative for the record, also halfway through: the published
// ports' rules (batched with the other containers'), the interfaces (deleting the
// container's end of a veth pair deletes both), the leases and the port reservations.
// Without the namespace (a crash, a reboot) the interfaces are gone with it, and a host
// end left by a crashed attach is deleted by its name.
func (m *Manager) delNative(rec *record, nsPath string) error {
	errs := []error{m.delPortRules(rec)}
	errs = append(errs, deleteInterfaces(rec, nsPath))
	for _, n := range rec.Networks {
		var addrs []netip.Addr
		for _, ifc := range rec.Interfaces {
			if ifc.Network == n.Network {
				addrs = append(addrs, ifc.IPv4, ifc.IPv6)
			}
		}
		errs = append(errs, m.leaseStore(n.Net).release(rec.ContainerID, n.Iface.IfName, addrs))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	releasePorts(rec.Ports, m.attachmentFile(rec.ContainerID))
	return nil
}

// delPortRules deletes the record's port rules with one batched restore; when that
// fails (a rule that is not there: the attach died before writing them, or someone
// deleted them), it sweeps the rules tagged with the container instead.
func (m *Manager) delPortRules(rec *record) error {
	var errs []error
	for _, f := range rec.portScripts() {
		if queueFor(f.v6).apply(f.v6, f.del) == nil {
			continue
		}
		err := withIPTablesLock(func() error { return sweepContainer(f.v6, f.net.CNIName, rec.ContainerID) })
		if err != nil {
			errs = append(errs, fmt.Errorf("unpublish ports: %w", err))
		}
	}
	return errors.Join(errs...)
}

// deleteInterfaces deletes the container's interfaces of the record in the namespace,
// or, without it, whatever host end of theirs is left.
func deleteInterfaces(rec *record, nsPath string) error {
	h := &netlink.Handle{} // the host's namespace
	if isNetNS(nsPath) {
		ns, err := netns.GetFromPath(nsPath)
		if err != nil {
			return fmt.Errorf("open netns %s: %w", nsPath, err)
		}
		defer ns.Close()
		nh, err := netlink.NewHandleAt(ns)
		if err != nil {
			return fmt.Errorf("enter netns %s: %w", nsPath, err)
		}
		defer nh.Close()
		h = nh
	}
	var errs []error
	for _, n := range rec.Networks {
		name := n.Iface.IfName
		if !isNetNS(nsPath) {
			name = hostVethName(n.Net, rec.ContainerID, n.Iface.IfName)
		}
		link, err := h.LinkByName(name)
		if errors.As(err, &netlink.LinkNotFoundError{}) {
			continue
		}
		if err == nil {
			err = h.LinkDel(link)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete interface %s of network %q: %w", name, n.Network, err))
		}
	}
	return errors.Join(errs...)
}
