package network

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// delNative undoes addNative for the record, also halfway through: the published
// ports' rules (batched with the other containers'), the interfaces (deleting the
// host's end of a veth pair deletes both), the leases and the port reservations. The
// namespace itself is the caller's.
func (m *Manager) delNative(rec *record) error {
	errs := []error{m.delPortRules(rec)}
	errs = append(errs, deleteInterfaces(rec))
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
		if queueFor(f.v6).apply(f.del) == nil {
			continue
		}
		err := withIPTablesLock(func() error { return sweepContainer(f.v6, f.net.CNIName, rec.ContainerID) })
		if err != nil {
			errs = append(errs, fmt.Errorf("unpublish ports: %w", err))
		}
	}
	return errors.Join(errs...)
}

// deleteInterfaces deletes the record's veth pairs by their host ends, which takes
// the container ends with them, whether the namespace is still there or not.
func deleteInterfaces(rec *record) error {
	var links []netlink.Link
	for _, n := range rec.Networks {
		name := hostVethName(n.Net, rec.ContainerID, n.Iface.IfName)
		link, err := netlink.LinkByName(name)
		if errors.As(err, &netlink.LinkNotFoundError{}) {
			continue
		}
		if err != nil {
			return fmt.Errorf("find interface %s of network %q: %w", name, n.Network, err)
		}
		links = append(links, link)
	}
	if len(links) == 0 {
		return nil
	}
	if err := linkDeletions.do(links); err != nil {
		return fmt.Errorf("delete the interfaces: %w", err)
	}
	return nil
}

// linkDeletions deletes the veth pairs of concurrent detaches together. The kernel
// waits for an RCU grace period (tens of milliseconds) per deletion request, holding
// the lock of all network configuration, so ten containers' pairs deleted one by one
// take ten of those; deleted as one group, one.
var linkDeletions = batcher[[]netlink.Link]{run: deleteLinks}

// deleteLinks puts every link into a group of its own number and deletes the group
// with one request; if that fails, it deletes them one by one.
func deleteLinks(batches [][]netlink.Link) []error {
	errs := make([]error, len(batches))
	group := 1<<30 | int(rand.Uint32N(1<<30)) // far from the small numbers people use
	for i, links := range batches {
		for _, l := range links {
			if err := netlink.LinkSetGroup(l, group); err != nil && !isLinkGone(err) {
				errs[i] = err
			}
		}
	}
	if err := deleteGroup(group); err == nil || errors.Is(err, unix.ENODEV) {
		return errs
	}
	for i, links := range batches {
		for _, l := range links {
			if err := netlink.LinkDel(l); err != nil && !isLinkGone(err) {
				errs[i] = errors.Join(errs[i], err)
			}
		}
	}
	return errs
}

// deleteGroup deletes every link of the group in the host's namespace, as
// `ip link delete group N` does.
func deleteGroup(group int) error {
	req := nl.NewNetlinkRequest(unix.RTM_DELLINK, unix.NLM_F_ACK)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_GROUP, nl.Uint32Attr(uint32(group))))
	_, err := req.Execute(unix.NETLINK_ROUTE, 0)
	return err
}

func isLinkGone(err error) bool {
	return errors.Is(err, unix.ENODEV) || errors.As(err, &netlink.LinkNotFoundError{})
}
