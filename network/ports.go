package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// portKey identifies a published host port. The host address is left out on purpose:
// portmap's DNAT rules are matched per port, so two mappings of one port on different
// addresses are treated as a conflict.
type portKey struct {
	proto string
	port  uint16
}

// normalizePorts validates ports and returns them with protocols lower-cased and
// defaulted, before anything is created.
func normalizePorts(ports []PortMapping) ([]PortMapping, error) {
	out := make([]PortMapping, len(ports))
	seen := map[portKey]bool{}
	for i, p := range ports {
		p.Protocol = strings.ToLower(p.Protocol)
		if p.Protocol == "" {
			p.Protocol = "tcp"
		}
		if p.Protocol != "tcp" && p.Protocol != "udp" {
			return nil, fmt.Errorf("ports[%d]: protocol %q: only tcp and udp are supported", i, p.Protocol)
		}
		if p.ContainerPort == 0 {
			return nil, fmt.Errorf("ports[%d]: container port 0", i)
		}
		if p.HostIP != "" {
			ip, err := netip.ParseAddr(p.HostIP)
			if err != nil || ip.Zone() != "" {
				return nil, fmt.Errorf("ports[%d]: host ip %q: not an IP address", i, p.HostIP)
			}
			p.HostIP = ip.Unmap().String()
		}
		if k := (portKey{p.Protocol, p.HostPort}); p.HostPort != 0 {
			if seen[k] {
				return nil, fmt.Errorf("ports[%d]: host port %d/%s is published twice", i, p.HostPort, p.Protocol)
			}
			seen[k] = true
		}
		out[i] = p
	}
	return out, nil
}

// resolvePorts gives every mapping a host port that nothing on the host uses: neither a
// socket (probed by binding it) nor a DNAT rule or a reservation (mapped, which a probe
// cannot see). Port 0 becomes a port the kernel picks.
func resolvePorts(ports []PortMapping, mapped map[portKey]bool) ([]PortMapping, error) {
	out := make([]PortMapping, len(ports))
	taken := map[portKey]bool{}
	for i, p := range ports {
		if p.HostPort != 0 {
			if mapped[portKey{p.Protocol, p.HostPort}] {
				return nil, fmt.Errorf("publish %s: host port %d/%s is already published by another container", p, p.HostPort, p.Protocol)
			}
			if _, err := probePort(p.Protocol, p.HostIP, p.HostPort); err != nil {
				return nil, fmt.Errorf("publish %s: host port %d/%s is already in use: %w", p, p.HostPort, p.Protocol, err)
			}
		} else {
			port, err := freePort(p.Protocol, p.HostIP, mapped, taken)
			if err != nil {
				return nil, fmt.Errorf("publish %s: %w", p, err)
			}
			p.HostPort = port
		}
		taken[portKey{p.Protocol, p.HostPort}] = true
		out[i] = p
	}
	return out, nil
}

// freePort asks the kernel for a free port, skipping ports that are DNATed already.
func freePort(proto, hostIP string, mapped, taken map[portKey]bool) (uint16, error) {
	for range 32 {
		port, err := probePort(proto, hostIP, 0)
		if err != nil {
			return 0, fmt.Errorf("pick a free host port: %w", err)
		}
		if k := (portKey{proto, port}); !mapped[k] && !taken[k] {
			return port, nil
		}
	}
	return 0, errors.New("pick a free host port: every port the kernel offered is published already")
}

// probePort binds the port and lets it go; it returns the port bound. An empty hostIP
// binds the dual-stack wildcard, which conflicts with a listener on any address.
func probePort(proto, hostIP string, port uint16) (uint16, error) {
	addr := net.JoinHostPort(hostIP, strconv.Itoa(int(port)))
	if proto == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

// portsDir holds one file per host port a berth container publishes, named
// "<proto>-<port>" and holding the owner's attachment record path. A port that portmap
// has DNATed has no socket, and between the check and the DNAT rule it has nothing at
// all: the file is what tells a concurrent Attach, in any data root, that it is taken.
const portsDir = runDir + "/ports"

// reservePorts resolves ports and reserves them for owner, under the host's ports lock.
// The lock is held for the check and the reservation only; the attach that maps the
// ports runs without it, concurrently with other containers'.
func reservePorts(ports []PortMapping, owner string) ([]PortMapping, error) {
	unlock, err := lockHost("ports.lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	mapped, err := mappedPorts()
	if err != nil {
		return nil, err
	}
	if err := reservedPorts(mapped); err != nil {
		return nil, err
	}
	resolved, err := resolvePorts(ports, mapped)
	if err != nil {
		return nil, err
	}
	for _, p := range resolved {
		if err := atomicfile.WriteFile(reservationFile(p), []byte(owner), 0o644); err != nil {
			releasePorts(resolved, owner)
			return nil, fmt.Errorf("reserve host port %d/%s: %w", p.HostPort, p.Protocol, err)
		}
	}
	return resolved, nil
}

// reservedPorts adds the live reservations to ports, and deletes those whose owner's
// record is gone (its Detach never ran to the end, or its data root was deleted).
func reservedPorts(ports map[portKey]bool) error {
	if err := os.MkdirAll(portsDir, 0o755); err != nil {
		return fmt.Errorf("list reserved ports: %w", err)
	}
	entries, err := os.ReadDir(portsDir)
	if err != nil {
		return fmt.Errorf("list reserved ports: %w", err)
	}
	for _, e := range entries {
		proto, num, ok := strings.Cut(e.Name(), "-")
		port, err := strconv.ParseUint(num, 10, 16)
		if !ok || err != nil {
			continue
		}
		path := filepath.Join(portsDir, e.Name())
		owner, err := os.ReadFile(path)
		if err != nil {
			continue // released meanwhile
		}
		if _, err := os.Stat(string(owner)); errors.Is(err, os.ErrNotExist) {
			_ = os.Remove(path)
			continue
		}
		ports[portKey{proto, uint16(port)}] = true
	}
	return nil
}

// releasePorts deletes owner's reservations of ports.
func releasePorts(ports []PortMapping, owner string) {
	for _, p := range ports {
		path := reservationFile(p)
		if got, err := os.ReadFile(path); err == nil && string(got) == owner {
			_ = os.Remove(path)
		}
	}
}

func reservationFile(p PortMapping) string {
	return filepath.Join(portsDir, fmt.Sprintf("%s-%d", p.Protocol, p.HostPort))
}

// mappedPorts reads the host ports that portmap DNATs already, for any CNI user.
func mappedPorts() (map[portKey]bool, error) {
	mapped := map[portKey]bool{}
	for _, v6 := range []bool{false, true} {
		rules, err := listRules(v6, "nat")
		if err != nil {
			if v6 {
				continue // a host without ip6tables maps no IPv6 ports
			}
			return nil, fmt.Errorf("list published ports: %w", err)
		}
		for k := range dnatPorts(rules) {
			mapped[k] = true
		}
	}
	return mapped, nil
}

// dnatPorts parses portmap's rules in CNI-HOSTPORT-DNAT, e.g.
// "-p tcp -m comment --comment … -m multiport --dports 8080,9000:9010 -j CNI-DN-…".
func dnatPorts(rules []rule) map[portKey]bool {
	ports := map[portKey]bool{}
	for _, r := range rules {
		if r.chain != "CNI-HOSTPORT-DNAT" {
			continue
		}
		proto, _ := r.arg("-p")
		dports, _ := r.arg("--dports")
		if dports == "" {
			dports, _ = r.arg("--dport")
		}
		for _, part := range strings.Split(dports, ",") {
			lo, hi, isRange := strings.Cut(part, ":")
			first, err1 := strconv.ParseUint(lo, 10, 16)
			last, err2 := strconv.ParseUint(hi, 10, 16)
			if !isRange {
				last, err2 = first, err1
			}
			if err1 != nil || err2 != nil {
				continue
			}
			for p := first; p <= last; p++ {
				ports[portKey{proto, uint16(p)}] = true
			}
		}
	}
	return ports
}
