package translate

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/network/netspec"
)

const localhostLines = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"

func TestHostsFile(t *testing.T) {
	addr := netip.MustParseAddr
	tests := []struct {
		name   string
		extra  types.HostsList
		ifaces []netspec.Interface
		want   []string // lines after localhost's, in any order for extra_hosts
	}{
		{name: "no network"},
		{
			name:   "own addresses under the hostname",
			ifaces: []netspec.Interface{{IPv4: addr("10.0.0.2"), IPv6: addr("fd00::2")}, {IPv4: addr("10.1.0.2")}},
			want:   []string{"10.0.0.2\tbox", "fd00::2\tbox", "10.1.0.2\tbox"},
		},
		{
			name:  "extra_hosts",
			extra: types.HostsList{"db": {"10.9.0.1"}, "v6": {"::1"}, "multi": {"1.1.1.1", "2.2.2.2"}},
			want:  []string{"10.9.0.1\tdb", "::1\tv6", "1.1.1.1\tmulti", "2.2.2.2\tmulti"},
		},
		{
			name:   "host-gateway without a gateway is left out",
			extra:  types.HostsList{"host.docker.internal": {"host-gateway"}},
			ifaces: []netspec.Interface{{IPv4: addr("10.0.0.2")}},
			want:   []string{"10.0.0.2\tbox"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := types.ServiceConfig{ContainerSpec: types.ContainerSpec{ExtraHosts: tt.extra}}
			got := string(HostsFile(s, "box", tt.ifaces))
			rest, ok := strings.CutPrefix(got, localhostLines)
			if !ok {
				t.Fatalf("hosts file does not start with localhost:\n%s", got)
			}
			lines := strings.Split(strings.TrimSuffix(rest, "\n"), "\n")
			if rest == "" {
				lines = nil
			}
			// the container's own lines keep the interfaces' order; extra_hosts
			// come after them, from a map
			own := len(tt.ifaces)
			for _, i := range tt.ifaces {
				if i.IPv6.IsValid() {
					own++
				}
			}
			if own > len(lines) || !slices.Equal(lines[:own], tt.want[:own]) {
				t.Fatalf("hosts file\n%s\nwant own lines %q first", got, tt.want[:own])
			}
			slices.Sort(lines)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(lines, want) {
				t.Errorf("hosts file lines %q, want %q", lines, want)
			}
		})
	}
}

func TestResolvConf(t *testing.T) {
	addr := netip.MustParseAddr
	host := HostResolv{Servers: []string{"192.168.1.1", "192.168.1.2"}, Search: []string{"lan"}, Options: []string{"ndots:2"}}
	v4 := netspec.Interface{Gateway: addr("10.0.0.1"), Gateway6: addr("fd00::1")}
	v6 := netspec.Interface{Gateway6: addr("fd00::1")}
	tests := []struct {
		name   string
		svc    types.ContainerSpec
		ifaces []netspec.Interface
		host   HostResolv
		want   string
	}{
		{
			name: "no network: the host's",
			host: host,
			want: "nameserver 192.168.1.1\nnameserver 192.168.1.2\nsearch lan\noptions ndots:2\n",
		},
		{
			name:   "gateway of the first network",
			ifaces: []netspec.Interface{v4, {Gateway: addr("10.1.0.1")}},
			host:   host,
			want:   "nameserver 10.0.0.1\nsearch lan\noptions ndots:2\n",
		},
		{
			name:   "IPv6 gateway when the first network has no IPv4",
			ifaces: []netspec.Interface{v6, {Gateway: addr("10.1.0.1")}},
			want:   "nameserver fd00::1\n",
		},
		{
			name:   "dns after the gateway, dns_search and dns_opt replace the host's",
			svc:    types.ContainerSpec{DNS: types.StringList{"9.9.9.9", "1.1.1.1"}, DNSSearch: types.StringList{"a.test", "b.test"}, DNSOpts: []string{"ndots:1", "timeout:2"}},
			ifaces: []netspec.Interface{v4},
			host:   host,
			want:   "nameserver 10.0.0.1\nnameserver 9.9.9.9\nnameserver 1.1.1.1\nsearch a.test b.test\noptions ndots:1 timeout:2\n",
		},
		{
			name: "no network, dns_search only",
			svc:  types.ContainerSpec{DNSSearch: types.StringList{"a.test"}},
			host: host,
			want: "nameserver 192.168.1.1\nnameserver 192.168.1.2\nsearch a.test\noptions ndots:2\n",
		},
		{name: "nothing at all", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(ResolvConf(svc(tt.svc), tt.ifaces, tt.host))
			if got != tt.want {
				t.Errorf("resolv.conf\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
