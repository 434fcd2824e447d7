package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	gocni "github.com/containerd/go-cni"
)

// record is an attached container, saved before the first change to the host so that
// Detach can undo it with the same backend after any crash.
type record struct {
	ContainerID string        `json:"containerID"`
	NetNS       string        `json:"netns"`
	Networks    []recordedNet `json:"networks"`
	// Backend set the container up and tears it down; "" for a record saved before
	// backends were recorded, which is CNI's.
	Backend Backend `json:"backend,omitempty"`
	// Ports are the published ports with their real host ports; before ADD succeeded,
	// the requested ones.
	Ports      []PortMapping `json:"ports,omitempty"`
	Interfaces []Interface   `json:"interfaces,omitempty"`
}

// recordedNet keeps the network as it was at the attach: the detach must undo the same
// thing with the same names (for CNI, run the same chain), even if the network's state
// changed or went away since.
type recordedNet struct {
	Attachment
	Net   Network   `json:"net"`
	Iface ifaceConf `json:"iface"`
}

// cleanupTimeout bounds the undo of a failed Attach, which runs even when the caller's
// context is already cancelled.
const cleanupTimeout = 30 * time.Second

// Attach connects the namespace at nsPath (from CreateNetNS, or /proc/PID/ns/net) to
// the requested networks: loopback plus one interface per network, eth0 first. It
// returns the interfaces and the published ports with their real host ports. Ports are
// published on the first non-internal network only; with none, none are published. On
// any failure Attach undoes everything it did; the namespace stays, as it is the
// caller's (Detach deletes it). Before it returns, the native networks' own rules are
// in place too (see Ensure).
func (m *Manager) Attach(ctx context.Context, nsPath string, req AttachRequest) ([]Interface, []PortMapping, error) {
	ports, err := m.checkRequest(nsPath, req)
	if err != nil {
		return nil, nil, fmt.Errorf("attach container %q: %w", req.ContainerID, err)
	}
	rec, err := m.register(nsPath, req)
	if err != nil {
		return nil, nil, fmt.Errorf("attach container %q: %w", req.ContainerID, err)
	}
	ifaces, ports, err := m.add(ctx, rec, ports, m.networkRulesReady(rec.Networks))
	if err != nil {
		return nil, nil, fmt.Errorf("attach container %q: %w", req.ContainerID, err)
	}
	rec.Ports, rec.Interfaces = ports, ifaces
	if err := writeJSON(m.attachmentFile(rec.ContainerID), rec); err != nil {
		return nil, nil, fmt.Errorf("attach container %q: save state: %w", req.ContainerID, m.undo(ctx, rec, err))
	}
	return ifaces, ports, nil
}

// checkRequest validates what needs no state, and returns the normalized ports.
func (m *Manager) checkRequest(nsPath string, req AttachRequest) ([]PortMapping, error) {
	if !containerIDPattern.MatchString(req.ContainerID) {
		return nil, errors.New("invalid container ID")
	}
	if nsPath == "" {
		return nil, errors.New("no network namespace path")
	}
	seen := map[string]bool{}
	for i, a := range req.Networks {
		if seen[a.Network] {
			return nil, fmt.Errorf("networks[%d]: network %q listed twice", i, a.Network)
		}
		seen[a.Network] = true
		if a.IPv4.IsValid() && !a.IPv4.Is4() || a.IPv6.IsValid() && (!a.IPv6.Is6() || a.IPv6.Is4In6()) {
			return nil, fmt.Errorf("networks[%d]: ipv4 %s / ipv6 %s: wrong address family", i, a.IPv4, a.IPv6)
		}
		if a.MAC != "" {
			hw, err := net.ParseMAC(a.MAC)
			if err != nil || len(hw) != 6 || hw[0]&1 == 1 {
				return nil, fmt.Errorf("networks[%d]: mac_address %q: not a unicast Ethernet address", i, a.MAC)
			}
		}
	}
	return normalizePorts(req.Ports)
}

// register resolves the networks and saves the record, under the data root's lock so
// that Remove either sees the attachment or has removed the network already.
func (m *Manager) register(nsPath string, req AttachRequest) (*record, error) {
	unlock, err := m.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := os.Stat(m.attachmentFile(req.ContainerID)); err == nil {
		return nil, errors.New("already attached: detach it first")
	}
	atts := slices.Clone(req.Networks)
	sort.SliceStable(atts, func(i, j int) bool {
		if atts[i].Priority != atts[j].Priority {
			return atts[i].Priority > atts[j].Priority
		}
		return atts[i].Network < atts[j].Network
	})
	rec := &record{ContainerID: req.ContainerID, NetNS: nsPath, Ports: req.Ports}
	gateway := false
	for i, a := range atts {
		n, err := m.get(a.Network)
		if err != nil {
			return nil, fmt.Errorf("network %q: %w", a.Network, err)
		}
		if err := checkStaticIPs(n, a); err != nil {
			return nil, err
		}
		c := ifaceConf{IfName: fmt.Sprintf("eth%d", i), IPv4: a.IPv4, IPv6: a.IPv6, MAC: a.MAC}
		if !n.Internal && !gateway {
			c.DefaultRoute, c.Ports, gateway = true, len(req.Ports) > 0, true
		}
		rec.Networks = append(rec.Networks, recordedNet{Attachment: a, Net: n, Iface: c})
	}
	rec.Backend = attachBackend(rec.Networks)
	if rec.Backend == BackendCNI && m.cniErr != nil {
		return nil, m.cniErr
	}
	// the intent serves a crash of berth during the set-up; a crash of the machine
	// takes the interfaces with it. Attach saves the result durably.
	if err := replaceJSON(m.attachmentFile(req.ContainerID), rec); err != nil {
		return nil, fmt.Errorf("save state: %w", err)
	}
	return rec, nil
}

func checkStaticIPs(n Network, a Attachment) error {
	for _, ip := range []netip.Addr{a.IPv4, a.IPv6} {
		if !ip.IsValid() {
			continue
		}
		sn, ok := n.subnet(ip.Is6())
		if !ok || !sn.Subnet.Contains(ip) {
			return fmt.Errorf("network %q: address %s is not in its subnets %v", n.Name, ip, n.Subnets)
		}
	}
	return nil
}

// publishes reports whether one of the record's networks takes the published ports.
func (r *record) publishes() bool {
	return slices.ContainsFunc(r.Networks, func(n recordedNet) bool { return n.Iface.Ports })
}

// add sets up the record's networks with its backend, the published ports reserved
// first. rules yields the outcome of the networks' own rules, which the ports need.
func (m *Manager) add(ctx context.Context, rec *record, ports []PortMapping, rules <-chan error) (ifaces []Interface, published []PortMapping, err error) {
	if rec.Backend == BackendNative {
		return m.addNative(ctx, rec, ports, rules)
	}
	if err := <-rules; err != nil {
		m.forget(rec.ContainerID)
		return nil, nil, err
	}
	cni, err := m.loadCNI(rec.Networks)
	if err != nil {
		m.forget(rec.ContainerID)
		return nil, nil, err
	}
	var opts []gocni.NamespaceOpts
	if len(ports) > 0 && rec.publishes() {
		if published, err = reservePorts(ports, m.attachmentFile(rec.ContainerID)); err != nil {
			m.forget(rec.ContainerID)
			return nil, nil, err
		}
		rec.Ports = published
		// a crash during ADD must leave the ports DEL has to unmap
		if err := writeJSON(m.attachmentFile(rec.ContainerID), rec); err != nil {
			return nil, nil, m.undo(ctx, rec, fmt.Errorf("save state: %w", err))
		}
		opts = append(opts, gocni.WithCapabilityPortMap(cniPorts(published)))
	}
	res, err := cni.Setup(ctx, rec.ContainerID, rec.NetNS, opts...)
	if err == nil {
		ifaces, err = interfacesOf(rec.Networks, res)
	}
	if err != nil {
		return nil, nil, m.undo(ctx, rec, err)
	}
	return ifaces, published, nil
}

// undo runs DEL for a failed Attach and returns its error cause. It runs even when ctx
// is cancelled (often the very cause); if DEL fails too, the record stays for Detach.
func (m *Manager) undo(ctx context.Context, rec *record, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := m.del(ctx, rec, rec.NetNS); err != nil {
		return fmt.Errorf("%w (undo: %v)", cause, err)
	}
	m.forget(rec.ContainerID)
	return cause
}

// forget drops a record whose ADD never happened or was undone.
func (m *Manager) forget(containerID string) {
	path := m.attachmentFile(containerID)
	_ = os.Remove(path)
	// a process killed inside writeJSON leaves its temporary file
	if tmps, err := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".*")); err == nil {
		for _, t := range tmps {
			_ = os.Remove(t)
		}
	}
}

// loadCNI loads one conflist per network, in interface order, then loopback: go-cni
// names interfaces by load order, so loopback first would make the first one eth1.
func (m *Manager) loadCNI(nets []recordedNet) (gocni.CNI, error) {
	cni, err := gocni.New(gocni.WithPluginDir([]string{m.cniPath}), gocni.WithInterfacePrefix("eth"))
	if err != nil {
		return nil, fmt.Errorf("set up CNI: %w", err)
	}
	var opts []gocni.Opt
	for _, n := range nets {
		conf, err := conflist(n.Net, m.ipamDir(), n.Iface)
		if err != nil {
			return nil, fmt.Errorf("network %q: conflist: %w", n.Network, err)
		}
		opts = append(opts, gocni.WithConfListBytes(conf))
	}
	if err := cni.Load(append(opts, gocni.WithLoNetwork)...); err != nil {
		return nil, fmt.Errorf("load CNI config: %w", err)
	}
	for i, loaded := range cni.GetConfig().Networks[:len(nets)] {
		if loaded.IFName != nets[i].Iface.IfName {
			return nil, fmt.Errorf("network %q: go-cni names the interface %s, not %s", nets[i].Network, loaded.IFName, nets[i].Iface.IfName)
		}
	}
	return cni, nil
}

func cniPorts(ports []PortMapping) []gocni.PortMapping {
	out := make([]gocni.PortMapping, len(ports))
	for i, p := range ports {
		out[i] = gocni.PortMapping{HostPort: int32(p.HostPort), ContainerPort: int32(p.ContainerPort), Protocol: p.Protocol, HostIP: p.HostIP}
	}
	return out
}

// interfacesOf reads each network's container interface out of its own CNI result
// (go-cni's merged view loses which network an address came from).
func interfacesOf(nets []recordedNet, res *gocni.Result) ([]Interface, error) {
	raw := res.Raw()
	out := make([]Interface, 0, len(nets))
	for i, n := range nets {
		if i >= len(raw) || raw[i] == nil {
			return nil, fmt.Errorf("network %q: no CNI result", n.Network)
		}
		iface := Interface{Network: n.Network, Name: n.Iface.IfName}
		idx := -1
		for j, intf := range raw[i].Interfaces {
			if intf.Sandbox != "" && intf.Name == iface.Name {
				idx, iface.MAC = j, intf.Mac
			}
		}
		for _, ipc := range raw[i].IPs {
			if ipc.Interface != nil && *ipc.Interface != idx {
				continue
			}
			addr, _ := netip.AddrFromSlice(ipc.Address.IP)
			gw, _ := netip.AddrFromSlice(ipc.Gateway)
			if addr = addr.Unmap(); addr.Is4() {
				iface.IPv4, iface.Gateway = addr, gw.Unmap()
			} else {
				iface.IPv6, iface.Gateway6 = addr, gw
			}
		}
		out = append(out, iface)
	}
	return out, nil
}

// Attachments returns the IDs of the containers attached to the network, sorted.
func (m *Manager) Attachments(name string) ([]string, error) {
	ids, err := m.attachments(name)
	if err != nil {
		return nil, fmt.Errorf("list attachments of network %q: %w", name, err)
	}
	return ids, nil
}

func (m *Manager) attachments(name string) ([]string, error) {
	recs, err := m.records()
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, rec := range recs {
		if slices.ContainsFunc(rec.Networks, func(n recordedNet) bool { return n.Network == name }) {
			ids = append(ids, rec.ContainerID)
		}
	}
	return ids, nil
}
