package translate

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/network/netspec"
	"github.com/berth-dev/berth/project"
)

func TestNetwork(t *testing.T) {
	pool := func(subnet, gateway, ipRange string) *types.IPAMPool {
		return &types.IPAMPool{Subnet: subnet, Gateway: gateway, IPRange: ipRange}
	}
	tests := []struct {
		name     string
		n        types.NetworkConfig
		want     netspec.Spec // Labels not compared here
		warnings []string
		err      string // substring; the error must also name the network
	}{
		{name: "defaults", n: types.NetworkConfig{Name: "proj_net"}, want: netspec.Spec{Name: "proj_net"}},
		{name: "bridge driver", n: types.NetworkConfig{Name: "proj_net", Driver: "bridge"}, want: netspec.Spec{Name: "proj_net"}},
		{name: "overlay driver", n: types.NetworkConfig{Name: "proj_net", Driver: "overlay"}, err: `driver "overlay" is not supported`},
		{name: "macvlan driver", n: types.NetworkConfig{Name: "proj_net", Driver: "macvlan"}, err: `driver "macvlan"`},
		{name: "internal", n: types.NetworkConfig{Name: "proj_net", Internal: true}, want: netspec.Spec{Name: "proj_net", Internal: true}},
		{name: "enable_ipv6", n: types.NetworkConfig{Name: "proj_net", EnableIPv6: ptr(true)}, want: netspec.Spec{Name: "proj_net", EnableIPv6: true}},
		{name: "enable_ipv6 false", n: types.NetworkConfig{Name: "proj_net", EnableIPv6: ptr(false)}, want: netspec.Spec{Name: "proj_net"}},
		{
			name: "mtu",
			n:    types.NetworkConfig{Name: "proj_net", DriverOpts: types.Options{"com.docker.network.driver.mtu": "1400"}},
			want: netspec.Spec{Name: "proj_net", MTU: 1400},
		},
		{
			name: "mtu not a number",
			n:    types.NetworkConfig{Name: "proj_net", DriverOpts: types.Options{"com.docker.network.driver.mtu": "big"}},
			err:  `driver_opts com.docker.network.driver.mtu: "big" is not a number`,
		},
		{
			name: "bridge name",
			n:    types.NetworkConfig{Name: "proj_net", DriverOpts: types.Options{"com.docker.network.bridge.name": "br-x"}},
			want: netspec.Spec{Name: "proj_net", BridgeName: "br-x"},
		},
		{
			name:     "unknown driver_opts warned",
			n:        types.NetworkConfig{Name: "proj_net", DriverOpts: types.Options{"com.docker.network.bridge.enable_icc": "false", "foo": "bar", "com.docker.network.driver.mtu": "9000"}},
			want:     netspec.Spec{Name: "proj_net", MTU: 9000},
			warnings: []string{`network "net": driver_opts com.docker.network.bridge.enable_icc is not supported and is ignored`, `network "net": driver_opts foo is not supported and is ignored`},
		},
		{
			name: "ipam subnet",
			n:    types.NetworkConfig{Name: "proj_net", Ipam: types.IPAMConfig{Config: []*types.IPAMPool{pool("10.5.0.0/16", "", "")}}},
			want: netspec.Spec{Name: "proj_net", Subnets: []netspec.Subnet{{Subnet: netip.MustParsePrefix("10.5.0.0/16")}}},
		},
		{
			name: "ipam subnet, gateway and ip_range, two families",
			n: types.NetworkConfig{Name: "proj_net", EnableIPv6: ptr(true), Ipam: types.IPAMConfig{Config: []*types.IPAMPool{
				pool("10.5.0.0/16", "10.5.0.254", "10.5.1.0/24"), pool("fd00:1::/64", "fd00:1::1", ""),
			}}},
			want: netspec.Spec{Name: "proj_net", EnableIPv6: true, Subnets: []netspec.Subnet{
				{Subnet: netip.MustParsePrefix("10.5.0.0/16"), Gateway: netip.MustParseAddr("10.5.0.254"), IPRange: netip.MustParsePrefix("10.5.1.0/24")},
				{Subnet: netip.MustParsePrefix("fd00:1::/64"), Gateway: netip.MustParseAddr("fd00:1::1")},
			}},
		},
		{name: "ipam bad subnet", n: types.NetworkConfig{Ipam: types.IPAMConfig{Config: []*types.IPAMPool{pool("10.5.0.0", "", "")}}}, err: `ipam subnet "10.5.0.0"`},
		{name: "ipam missing subnet", n: types.NetworkConfig{Ipam: types.IPAMConfig{Config: []*types.IPAMPool{pool("", "10.0.0.1", "")}}}, err: `ipam subnet ""`},
		{name: "ipam bad gateway", n: types.NetworkConfig{Ipam: types.IPAMConfig{Config: []*types.IPAMPool{pool("10.5.0.0/16", "10.5.0.300", "")}}}, err: `ipam gateway "10.5.0.300"`},
		{name: "ipam bad ip_range", n: types.NetworkConfig{Ipam: types.IPAMConfig{Config: []*types.IPAMPool{pool("10.5.0.0/16", "", "10.5.1.0")}}}, err: `ipam ip_range "10.5.1.0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, warnings, err := Network("proj", "net", tt.n)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), `network "net": `) {
					t.Fatalf("error %v, want one naming the network with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			spec.Labels = nil
			if !reflect.DeepEqual(spec, tt.want) {
				t.Errorf("spec %+v\nwant %+v", spec, tt.want)
			}
			slices.Sort(warnings)
			if !slices.Equal(warnings, tt.warnings) {
				t.Errorf("warnings %q, want %q", warnings, tt.warnings)
			}
		})
	}
}

func TestNetworkLabels(t *testing.T) {
	n := types.NetworkConfig{Name: "proj_net", Labels: types.Labels{"team": "a", record.LabelProject: "spoof"}}
	spec, _, err := Network("proj", "net", n)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"team": "a", record.LabelProject: "proj", record.LabelNetwork: "net", record.LabelVersion: record.Version,
		record.LabelHash: project.NetworkHash(n),
	}
	if !reflect.DeepEqual(spec.Labels, want) {
		t.Errorf("labels %v\nwant %v", spec.Labels, want)
	}
	if len(spec.Labels[record.LabelHash]) != 64 {
		t.Errorf("config hash %q is not a sha256", spec.Labels[record.LabelHash])
	}
}

// loadProject loads a Compose file from text, as up does.
func loadProject(t *testing.T, yaml string) *types.Project {
	t.Helper()
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(t.Context(), project.LoadOptions{ConfigPaths: []string{file}, Environ: []string{}, All: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNetworkHash(t *testing.T) {
	const base = `name: proj
services:
  app: {image: busybox}
networks:
  net:
    driver: bridge
    driver_opts:
      com.docker.network.driver.mtu: "1400"
      com.docker.network.bridge.name: br-x
    labels:
      a: "1"
      b: "2"
    ipam:
      config:
        - subnet: 10.9.0.0/16
`
	hash := func(t *testing.T, yaml string) string {
		t.Helper()
		p := loadProject(t, yaml)
		spec, _, err := Network(p.Name, "net", p.Networks["net"])
		if err != nil {
			t.Fatal(err)
		}
		h := spec.Labels[record.LabelHash]
		if h == "" {
			t.Fatal("no config hash label")
		}
		return h
	}
	want := hash(t, base)
	tests := []struct {
		name, yaml string
		same       bool
	}{
		{name: "same file", yaml: base, same: true},
		{name: "map keys in another order", same: true, yaml: `name: proj
services:
  app: {image: busybox}
networks:
  net:
    labels:
      b: "2"
      a: "1"
    ipam:
      config:
        - subnet: 10.9.0.0/16
    driver_opts:
      com.docker.network.bridge.name: br-x
      com.docker.network.driver.mtu: "1400"
    driver: bridge
`},
		{name: "subnet changed", yaml: strings.Replace(base, "10.9.0.0/16", "10.8.0.0/16", 1)},
		{name: "mtu changed", yaml: strings.Replace(base, `"1400"`, `"1500"`, 1)},
		{name: "label changed", yaml: strings.Replace(base, `a: "1"`, `a: "3"`, 1)},
		{name: "internal added", yaml: strings.Replace(base, "driver: bridge\n", "driver: bridge\n    internal: true\n", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hash(t, tt.yaml); (got == want) != tt.same {
				t.Errorf("hash %s vs %s: same %v, want %v", got, want, got == want, tt.same)
			}
		})
	}
}

func TestVolumeSpec(t *testing.T) {
	tests := []struct {
		name     string
		v        types.VolumeConfig
		device   string
		warnings int
		err      string
	}{
		{name: "default driver", v: types.VolumeConfig{Name: "proj_data"}},
		{name: "local driver", v: types.VolumeConfig{Name: "proj_data", Driver: "local"}},
		{name: "other driver", v: types.VolumeConfig{Name: "proj_data", Driver: "nfs"}, err: `volume "data": driver "nfs" is not supported`},
		{name: "bind device", v: types.VolumeConfig{Name: "proj_data", DriverOpts: types.Options{"type": "none", "o": "bind", "device": "/srv/data"}}, device: "/srv/data"},
		{name: "bind without device", v: types.VolumeConfig{Name: "proj_data", DriverOpts: types.Options{"o": "bind"}}, warnings: 1},
		{name: "other driver_opts", v: types.VolumeConfig{Name: "proj_data", DriverOpts: types.Options{"type": "tmpfs", "device": "tmpfs", "o": "size=100m"}}, warnings: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, warnings, err := VolumeSpec("proj", "data", tt.v)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if spec.Name != tt.v.Name || spec.Device != tt.device {
				t.Errorf("name %q device %q, want %q %q", spec.Name, spec.Device, tt.v.Name, tt.device)
			}
			if len(warnings) != tt.warnings {
				t.Fatalf("warnings %q, want %d", warnings, tt.warnings)
			}
			for _, w := range warnings {
				if !strings.HasPrefix(w, `volume "data": driver_opts`) {
					t.Errorf("warning %q does not name the volume and driver_opts", w)
				}
			}
		})
	}
}

func TestVolumeLabels(t *testing.T) {
	v := types.VolumeConfig{Name: "proj_data", Labels: types.Labels{"team": "a"}}
	spec, _, err := VolumeSpec("proj", "data", v)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"team": "a", record.LabelProject: "proj", record.LabelVolume: "data", record.LabelVersion: record.Version, record.LabelHash: project.VolumeHash(v)}
	if !reflect.DeepEqual(spec.Labels, want) {
		t.Errorf("labels %v\nwant %v", spec.Labels, want)
	}
	v2 := v
	v2.DriverOpts = types.Options{"o": "bind", "device": "/x"}
	spec2, _, _ := VolumeSpec("proj", "data", v2)
	if spec2.Labels[record.LabelHash] == spec.Labels[record.LabelHash] {
		t.Error("the config hash does not change with driver_opts")
	}
	anon := AnonymousVolumeSpec("proj", "proj-web-1_anon_x", "proj-web-1")
	wantAnon := Volume{Name: "proj-web-1_anon_x", Labels: map[string]string{record.LabelProject: "proj", record.LabelAnonymous: "proj-web-1"}}
	if !reflect.DeepEqual(anon, wantAnon) {
		t.Errorf("AnonymousVolumeSpec = %+v, want %+v", anon, wantAnon)
	}
}

func TestAttachments(t *testing.T) {
	p := &types.Project{Name: "proj", Networks: types.Networks{
		"default": {Name: "proj_default"}, "back": {Name: "proj_back"}, "front": {Name: "custom_front"},
	}}
	tests := []struct {
		name string
		svc  types.ServiceConfig
		want []netspec.Attachment
		err  string
	}{
		{
			name: "one network: service and container names",
			svc:  types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{Networks: map[string]*types.ServiceNetworkConfig{"default": nil}}},
			want: []netspec.Attachment{{Network: "proj_default", Aliases: []string{"web", "proj-web-1"}}},
		},
		{
			name: "hostname, container_name and per-network aliases",
			svc: types.ServiceConfig{Name: "web", ContainerName: "site", ContainerSpec: types.ContainerSpec{Hostname: "box", Networks: map[string]*types.ServiceNetworkConfig{
				"back": {Aliases: []string{"api"}}, "front": nil,
			}}},
			want: []netspec.Attachment{
				{Network: "proj_back", Aliases: []string{"web", "proj-web-1", "box", "site", "api"}},
				{Network: "custom_front", Aliases: []string{"web", "proj-web-1", "box", "site"}},
			},
		},
		{
			name: "container_name equal to the name is not repeated",
			svc:  types.ServiceConfig{Name: "web", ContainerName: "proj-web-1", ContainerSpec: types.ContainerSpec{Networks: map[string]*types.ServiceNetworkConfig{"default": nil}}},
			want: []netspec.Attachment{{Network: "proj_default", Aliases: []string{"web", "proj-web-1"}}},
		},
		{
			name: "priority first, then key",
			svc: types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{Networks: map[string]*types.ServiceNetworkConfig{
				"back": {}, "default": {Priority: 10}, "front": {},
			}}},
			want: []netspec.Attachment{
				{Network: "proj_default", Priority: 10, Aliases: []string{"web", "proj-web-1"}},
				{Network: "proj_back", Aliases: []string{"web", "proj-web-1"}},
				{Network: "custom_front", Aliases: []string{"web", "proj-web-1"}},
			},
		},
		{
			name: "mac_address per network overrides the service's",
			svc: types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{MacAddress: "02:00:00:00:00:01", Networks: map[string]*types.ServiceNetworkConfig{
				"back": {MacAddress: "02:00:00:00:00:02"}, "front": {}, "default": nil,
			}}},
			want: []netspec.Attachment{
				{Network: "proj_back", MAC: "02:00:00:00:00:02", Aliases: []string{"web", "proj-web-1"}},
				{Network: "proj_default", MAC: "02:00:00:00:00:01", Aliases: []string{"web", "proj-web-1"}},
				{Network: "custom_front", MAC: "02:00:00:00:00:01", Aliases: []string{"web", "proj-web-1"}},
			},
		},
		{
			name: "static addresses",
			svc: types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{Networks: map[string]*types.ServiceNetworkConfig{
				"back": {Ipv4Address: "10.1.0.5", Ipv6Address: "fd00::5"},
			}}},
			want: []netspec.Attachment{{Network: "proj_back", IPv4: netip.MustParseAddr("10.1.0.5"), IPv6: netip.MustParseAddr("fd00::5"), Aliases: []string{"web", "proj-web-1"}}},
		},
		{
			name: "bad ipv4_address",
			svc:  types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{Networks: map[string]*types.ServiceNetworkConfig{"back": {Ipv4Address: "10.1.0"}}}},
			err:  `service "web": networks.back.ipv4_address`,
		},
		{
			name: "bad ipv6_address",
			svc:  types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{Networks: map[string]*types.ServiceNetworkConfig{"back": {Ipv6Address: "fd00::zz"}}}},
			err:  `service "web": networks.back.ipv6_address`,
		},
		{name: "no networks", svc: types.ServiceConfig{Name: "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Attachments(p, tt.svc, "proj-web-1")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if req.ContainerID != "proj-web-1" {
				t.Errorf("container id %q", req.ContainerID)
			}
			if !reflect.DeepEqual(req.Networks, tt.want) {
				t.Errorf("networks\n%+v\nwant\n%+v", req.Networks, tt.want)
			}
		})
	}
	t.Run("aliases are not shared between networks", func(t *testing.T) {
		// a hostname leaves room in the slice of names for an append to share
		s := types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{Hostname: "box", Networks: map[string]*types.ServiceNetworkConfig{
			"back": {Aliases: []string{"a"}}, "front": {Aliases: []string{"b"}},
		}}}
		req, err := Attachments(p, s, "proj-web-1")
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(req.Networks[1].Aliases, "a") || slices.Contains(req.Networks[0].Aliases, "b") {
			t.Errorf("aliases leaked between networks: %v / %v", req.Networks[0].Aliases, req.Networks[1].Aliases)
		}
	})
}

func TestPortMapping(t *testing.T) {
	tests := []struct {
		name string
		port types.ServicePortConfig
		want netspec.PortMapping
		err  string
	}{
		{name: "published", port: types.ServicePortConfig{Target: 80, Published: "8080", Protocol: "tcp"}, want: netspec.PortMapping{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}},
		{name: "published empty picks one", port: types.ServicePortConfig{Target: 80}, want: netspec.PortMapping{ContainerPort: 80, Protocol: "tcp"}},
		{name: "published 0", port: types.ServicePortConfig{Target: 80, Published: "0"}, want: netspec.PortMapping{ContainerPort: 80, Protocol: "tcp"}},
		{name: "range takes the first", port: types.ServicePortConfig{Target: 80, Published: "9000-9010"}, want: netspec.PortMapping{HostPort: 9000, ContainerPort: 80, Protocol: "tcp"}},
		{name: "udp and host ip", port: types.ServicePortConfig{Target: 53, Published: "5353", Protocol: "udp", HostIP: "127.0.0.1"}, want: netspec.PortMapping{HostIP: "127.0.0.1", HostPort: 5353, ContainerPort: 53, Protocol: "udp"}},
		{name: "highest port", port: types.ServicePortConfig{Target: 65535, Published: "65535"}, want: netspec.PortMapping{HostPort: 65535, ContainerPort: 65535, Protocol: "tcp"}},
		{name: "target 0", port: types.ServicePortConfig{Target: 0, Published: "80"}, err: "invalid container port 0"},
		{name: "target too big", port: types.ServicePortConfig{Target: 65536}, err: "invalid container port 65536"},
		{name: "published too big", port: types.ServicePortConfig{Target: 80, Published: "65536"}, err: `invalid published port "65536"`},
		{name: "published not a number", port: types.ServicePortConfig{Target: 80, Published: "http"}, err: `invalid published port "http"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PortMapping(tt.port)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("PortMapping = %+v, want %+v", got, tt.want)
			}
		})
	}
	t.Run("in Attachments, errors name the service", func(t *testing.T) {
		s := types.ServiceConfig{Name: "web", WorkloadSpec: types.WorkloadSpec{Ports: []types.ServicePortConfig{{Target: 80}, {Target: 0}}}}
		_, err := Attachments(&types.Project{}, s, "proj-web-1")
		if err == nil || err.Error() != `service "web": ports: invalid container port 0` {
			t.Errorf("error %v", err)
		}
		s.Ports = s.Ports[:1]
		req, err := Attachments(&types.Project{}, s, "proj-web-1")
		if err != nil || len(req.Ports) != 1 || req.Ports[0] != (netspec.PortMapping{ContainerPort: 80, Protocol: "tcp"}) {
			t.Errorf("ports %+v, %v", req.Ports, err)
		}
	})
}
