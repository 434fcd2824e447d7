package translate

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/network/netspec"
)

// HostResolv is the host's resolver configuration, loopback servers left out.
type HostResolv struct {
	Servers, Search, Options []string
}

// HostsFile has localhost, the container's own addresses under its
// hostname (as Docker writes them) and extra_hosts; other containers'
// names are served by DNS, which never goes stale.
func HostsFile(s types.ServiceConfig, hostname string, ifaces []netspec.Interface) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	for _, i := range ifaces {
		for _, a := range []netip.Addr{i.IPv4, i.IPv6} {
			if a.IsValid() {
				fmt.Fprintf(&b, "%s\t%s\n", a, hostname)
			}
		}
	}
	extra := s.ExtraHosts.AsList(" ")
	slices.Sort(extra) // a map underneath: the file must not change from one up to the next
	for _, h := range extra {
		host, ip, _ := strings.Cut(h, " ")
		if ip == "host-gateway" {
			// the engine's name for the host as the container reaches it: on
			// berth's networks, the bridge's address
			ip = hostGateway(ifaces)
		}
		if ip == "" {
			continue
		}
		fmt.Fprintf(&b, "%s\t%s\n", ip, host)
	}
	return b.Bytes()
}

// ResolvConf points the container at berth's DNS responder on its first
// network's gateway, which serves the project's names and forwards the
// rest; without a network it is the host's resolv.conf minus loopback
// servers (they do not exist in the container). The service's dns
// settings come on top.
func ResolvConf(s types.ServiceConfig, ifaces []netspec.Interface, host HostResolv) []byte {
	servers, search, options := host.Servers, host.Search, host.Options
	if len(ifaces) > 0 {
		servers = nil
		if gw := ifaces[0].Gateway; gw.IsValid() {
			servers = append(servers, gw.String())
		} else if gw := ifaces[0].Gateway6; gw.IsValid() {
			servers = append(servers, gw.String())
		}
	}
	if len(s.DNS) > 0 && len(ifaces) == 0 {
		// no responder of berth's to put first: the service's servers replace the
		// host's, as the engine does
		servers = nil
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

// hostGateway is the host's address on the container's first network, or "" without one.
func hostGateway(ifaces []netspec.Interface) string {
	for _, i := range ifaces {
		if i.Gateway.IsValid() {
			return i.Gateway.String()
		}
		if i.Gateway6.IsValid() {
			return i.Gateway6.String()
		}
	}
	return ""
}
