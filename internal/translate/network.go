package translate

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/network/netspec"
	"github.com/berth-dev/berth/project"
)

// Network converts a Compose network to the network package's spec, its labels the
// record of it with the hash of its definition.
func Network(projectName, key string, n types.NetworkConfig) (netspec.Spec, []string, error) {
	spec := netspec.Spec{
		Name:     n.Name,
		Internal: n.Internal,
		Labels:   record.Resource{Project: projectName, Key: key, Hash: project.NetworkHash(n), User: n.Labels}.NetworkLabels(),
	}
	if n.EnableIPv6 != nil {
		spec.EnableIPv6 = *n.EnableIPv6
	}
	var warnings []string
	if n.Driver != "" && n.Driver != "bridge" {
		return spec, nil, fmt.Errorf("network %q: driver %q is not supported: berth networks are bridges", key, n.Driver)
	}
	for opt, v := range n.DriverOpts {
		switch opt {
		case "com.docker.network.driver.mtu":
			mtu, err := strconv.Atoi(v)
			if err != nil {
				return spec, nil, fmt.Errorf("network %q: driver_opts %s: %q is not a number", key, opt, v)
			}
			spec.MTU = mtu
		case "com.docker.network.bridge.name":
			spec.BridgeName = v
		default:
			warnings = append(warnings, fmt.Sprintf("network %q: driver_opts %s is not supported and is ignored", key, opt))
		}
	}
	for _, c := range n.Ipam.Config {
		sn, err := subnetOf(key, c)
		if err != nil {
			return spec, nil, err
		}
		spec.Subnets = append(spec.Subnets, sn)
	}
	return spec, warnings, nil
}

func subnetOf(key string, c *types.IPAMPool) (netspec.Subnet, error) {
	var sn netspec.Subnet
	var err error
	if sn.Subnet, err = netip.ParsePrefix(c.Subnet); err != nil {
		return sn, fmt.Errorf("network %q: ipam subnet %q: %w", key, c.Subnet, err)
	}
	if c.Gateway != "" {
		if sn.Gateway, err = netip.ParseAddr(c.Gateway); err != nil {
			return sn, fmt.Errorf("network %q: ipam gateway %q: %w", key, c.Gateway, err)
		}
	}
	if c.IPRange != "" {
		if sn.IPRange, err = netip.ParsePrefix(c.IPRange); err != nil {
			return sn, fmt.Errorf("network %q: ipam ip_range %q: %w", key, c.IPRange, err)
		}
	}
	return sn, nil
}

// Attachments lists a container's networks in Docker's order (priority,
// then name) with its addresses, aliases and published ports.
func Attachments(p *types.Project, s types.ServiceConfig, name string) (netspec.AttachRequest, error) {
	req := netspec.AttachRequest{ContainerID: name}
	// the names other containers find this one by, on each of its networks
	names := []string{s.Name, name}
	if s.Hostname != "" {
		names = append(names, s.Hostname)
	}
	if s.ContainerName != "" && s.ContainerName != name {
		names = append(names, s.ContainerName)
	}
	for _, key := range s.NetworksByPriority() {
		a := netspec.Attachment{Network: p.Networks[key].Name, MAC: s.MacAddress, Aliases: slices.Clone(names)}
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
		pm, err := PortMapping(port)
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

// PortMapping converts one normalised compose port; an empty published
// port, or 0, lets the host pick one.
func PortMapping(p types.ServicePortConfig) (netspec.PortMapping, error) {
	pm := netspec.PortMapping{HostIP: p.HostIP, ContainerPort: uint16(p.Target), Protocol: p.Protocol}
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
