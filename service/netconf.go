package service

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/network"
)

// attachRequest lists a container's networks in Docker's order (priority,
// then name) with its addresses, aliases and published ports.
func attachRequest(p *types.Project, s types.ServiceConfig, name string) (network.AttachRequest, error) {
	req := network.AttachRequest{ContainerID: name}
	// the names other containers find this one by, on each of its networks
	names := []string{s.Name, name}
	if s.Hostname != "" {
		names = append(names, s.Hostname)
	}
	if s.ContainerName != "" && s.ContainerName != name {
		names = append(names, s.ContainerName)
	}
	for _, key := range s.NetworksByPriority() {
		a := network.Attachment{Network: p.Networks[key].Name, MAC: s.MacAddress, Aliases: slices.Clone(names)}
		if cfg := s.Networks[key]; cfg != nil {
			a.Aliases = append(a.Aliases, cfg.Aliases...)
			a.Priority = cfg.Priority
			if cfg.MacAddress != "" {
				a.MAC = cfg.MacAddress
			}
			var err error
			if a.IPv4, err = parseAddr(cfg.Ipv4Address); err != nil {
				return req, fmt.Errorf("service %q: networks.%s.ipv4_address: %w", s.Name, key, err)
			}
			if a.IPv6, err = parseAddr(cfg.Ipv6Address); err != nil {
				return req, fmt.Errorf("service %q: networks.%s.ipv6_address: %w", s.Name, key, err)
			}
		}
		req.Networks = append(req.Networks, a)
	}
	for _, port := range s.Ports {
		pm, err := portMapping(port)
		if err != nil {
			return req, fmt.Errorf("service %q: ports: %w", s.Name, err)
		}
		req.Ports = append(req.Ports, pm)
	}
	return req, nil
}

func parseAddr(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	return netip.ParseAddr(s)
}

// portMapping converts one normalised compose port; an empty published
// port, or 0, lets the host pick one.
func portMapping(p types.ServicePortConfig) (network.PortMapping, error) {
	pm := network.PortMapping{HostIP: p.HostIP, ContainerPort: uint16(p.Target), Protocol: p.Protocol}
	if p.Target == 0 || p.Target > 65535 {
		return pm, fmt.Errorf("invalid container port %d", p.Target)
	}
	published, _, _ := strings.Cut(p.Published, "-")
	if published != "" {
		n, err := strconv.ParseUint(published, 10, 16)
		if err != nil {
			return pm, fmt.Errorf("invalid published port %q", p.Published)
		}
		pm.HostPort = uint16(n)
	}
	if pm.Protocol == "" {
		pm.Protocol = "tcp"
	}
	return pm, nil
}

// writeEtcFiles writes the container's /etc/hosts, /etc/resolv.conf and
// /etc/hostname and returns their bind mounts.
func (e *Engine) writeEtcFiles(s types.ServiceConfig, name string, ifaces []network.Interface) ([]specs.Mount, error) {
	dir := e.containerDir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	hostname := firstNonEmpty(s.Hostname, shortHostname(name))
	files := map[string][]byte{
		"hosts":       hostsFile(s, hostname, ifaces),
		"resolv.conf": resolvConf(s, ifaces),
		"hostname":    []byte(hostname + "\n"),
	}
	var mounts []specs.Mount
	for _, f := range []string{"hosts", "resolv.conf", "hostname"} {
		path := filepath.Join(dir, f)
		if err := os.WriteFile(path, files[f], 0o644); err != nil {
			return nil, fmt.Errorf("write %s of %s: %w", f, name, err)
		}
		mounts = append(mounts, specs.Mount{Type: "bind", Source: path, Destination: "/etc/" + f, Options: []string{"rbind", "rw"}})
	}
	return mounts, nil
}

// hostsFile has localhost, the container's own addresses under its
// hostname (as Docker writes them) and extra_hosts; other containers'
// names are served by DNS, which never goes stale.
func hostsFile(s types.ServiceConfig, hostname string, ifaces []network.Interface) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	for _, i := range ifaces {
		for _, a := range []netip.Addr{i.IPv4, i.IPv6} {
			if a.IsValid() {
				fmt.Fprintf(&b, "%s\t%s\n", a, hostname)
			}
		}
	}
	for _, h := range s.ExtraHosts.AsList(" ") {
		host, ip, _ := strings.Cut(h, " ")
		fmt.Fprintf(&b, "%s\t%s\n", ip, host)
	}
	return b.Bytes()
}

// resolvConf points the container at berth's DNS responder on its first
// network's gateway, which serves the project's names and forwards the
// rest; without a network it is the host's resolv.conf minus loopback
// servers (they do not exist in the container). The service's dns
// settings come on top.
func resolvConf(s types.ServiceConfig, ifaces []network.Interface) []byte {
	servers, search, options := hostResolvers()
	if len(ifaces) > 0 {
		servers = nil
		if gw := ifaces[0].Gateway; gw.IsValid() {
			servers = append(servers, gw.String())
		} else if gw := ifaces[0].Gateway6; gw.IsValid() {
			servers = append(servers, gw.String())
		}
	}
	if len(s.DNS) > 0 {
		servers = append(servers, s.DNS...)
	}
	if len(s.DNSSearch) > 0 {
		search = s.DNSSearch
	}
	if len(s.DNSOpts) > 0 {
		options = s.DNSOpts
	}
	var b bytes.Buffer
	for _, ns := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return b.Bytes()
}

func hostResolvers() (servers, search, options []string) {
	f, err := os.Open("/etc/resolv.conf")
	if err != nil {
		return nil, nil, nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "nameserver":
			if a, err := netip.ParseAddr(fields[1]); err == nil && !a.IsLoopback() {
				servers = append(servers, fields[1])
			}
		case "search":
			search = fields[1:]
		case "options":
			options = fields[1:]
		}
	}
	return servers, search, options
}

// portsLabel records the published ports with their real host ports, for
// ps and port.
func portsLabel(ports []network.PortMapping) string {
	b, _ := json.Marshal(ports)
	return string(b)
}
