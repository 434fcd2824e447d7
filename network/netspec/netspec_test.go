package netspec

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
)

func subnet(prefix, gateway, ipRange string) Subnet {
	sn := Subnet{Subnet: netip.MustParsePrefix(prefix)}
	if gateway != "" {
		sn.Gateway = netip.MustParseAddr(gateway)
	}
	if ipRange != "" {
		sn.IPRange = netip.MustParsePrefix(ipRange)
	}
	return sn
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		err  string // the whole message after `network "NAME": `; "" for valid
	}{
		{name: "minimal", spec: Spec{Name: "proj_default"}},
		{name: "dots and dashes", spec: Spec{Name: "a.b-c_d"}},
		{name: "name of 200", spec: Spec{Name: strings.Repeat("n", 200)}},
		{name: "name of 201", spec: Spec{Name: strings.Repeat("n", 201)}, err: "name \"" + strings.Repeat("n", 201) + "\": use letters, digits, '_', '.', '-' (at most 200, first a letter or digit)"},
		{name: "empty name", spec: Spec{}, err: `name "": use letters, digits, '_', '.', '-' (at most 200, first a letter or digit)`},
		{name: "name starting with a dash", spec: Spec{Name: "-n"}, err: `name "-n": use letters`},
		{name: "name with a space", spec: Spec{Name: "a b"}, err: `name "a b": use letters`},
		{name: "mtu 68", spec: Spec{Name: "n", MTU: 68}},
		{name: "mtu 65535", spec: Spec{Name: "n", MTU: 65535}},
		{name: "mtu 67", spec: Spec{Name: "n", MTU: 67}, err: "mtu 67: must be between 68 and 65535"},
		{name: "mtu 65536", spec: Spec{Name: "n", MTU: 65536}, err: "mtu 65536: must be between 68 and 65535"},
		{name: "mtu negative", spec: Spec{Name: "n", MTU: -1}, err: "mtu -1: must be between 68 and 65535"},
		{name: "bridge name", spec: Spec{Name: "n", BridgeName: "br-custom"}},
		{name: "bridge name of 15", spec: Spec{Name: "n", BridgeName: "br-0123456789ab"}},
		{name: "bridge name of 16", spec: Spec{Name: "n", BridgeName: "br-0123456789abc"}, err: `bridge name: "br-0123456789abc": need 1 to 15 characters`},
		{name: "bridge name with a colon", spec: Spec{Name: "n", BridgeName: "br:x"}, err: `bridge name: "br:x": character ':' not allowed in an interface name`},
		{name: "bridge name ..", spec: Spec{Name: "n", BridgeName: ".."}, err: `bridge name: "..": need 1 to 15 characters`},
		{
			name: "every field",
			spec: Spec{Name: "p_n", Internal: true, EnableIPv6: true, MTU: 1400, BridgeName: "br-x",
				Subnets: []Subnet{subnet("10.5.0.0/16", "10.5.0.254", "10.5.1.0/24"), subnet("fd00:1::/64", "fd00:1::1", "fd00:1::/80")}},
		},
		{name: "missing subnet", spec: Spec{Name: "n", Subnets: []Subnet{{}}}, err: "subnets[0]: subnet: missing"},
		{name: "4in6 subnet", spec: Spec{Name: "n", EnableIPv6: true, Subnets: []Subnet{subnet("::ffff:10.0.0.0/120", "", "")}}, err: "subnets[0]: subnet ::ffff:10.0.0.0/120: not a plain IPv4 or IPv6 prefix"},
		{name: "host bits", spec: Spec{Name: "n", Subnets: []Subnet{subnet("10.5.0.1/16", "", "")}}, err: "subnets[0]: subnet 10.5.0.1/16: host bits set, did you mean 10.5.0.0/16?"},
		{name: "ipv4 /30", spec: Spec{Name: "n", Subnets: []Subnet{subnet("10.5.0.0/30", "", "")}}},
		{name: "ipv4 /31", spec: Spec{Name: "n", Subnets: []Subnet{subnet("10.5.0.0/31", "", "")}}, err: "subnets[0]: subnet 10.5.0.0/31: too small for a gateway and a container"},
		{name: "ipv6 /126", spec: Spec{Name: "n", EnableIPv6: true, Subnets: []Subnet{subnet("fd00::/126", "", "")}}},
		{name: "ipv6 /127", spec: Spec{Name: "n", EnableIPv6: true, Subnets: []Subnet{subnet("fd00::/127", "", "")}}, err: "subnets[0]: subnet fd00::/127: too small"},
		{name: "gateway outside", spec: Spec{Name: "n", Subnets: []Subnet{subnet("10.5.0.0/16", "10.6.0.1", "")}}, err: "subnets[0]: gateway 10.6.0.1: not a host address of subnet 10.5.0.0/16"},
		{name: "gateway is the network address", spec: Spec{Name: "n", Subnets: []Subnet{subnet("10.5.0.0/16", "10.5.0.0", "")}}, err: "subnets[0]: gateway 10.5.0.0: not a host address"},
		{name: "ip_range host bits", spec: Spec{Name: "n", Subnets: []Subnet{subnet("10.5.0.0/16", "", "10.5.1.1/24")}}, err: "subnets[0]: ip_range 10.5.1.1/24: host bits set, did you mean 10.5.1.0/24?"},
		{name: "ip_range outside", spec: Spec{Name: "n", Subnets: []Subnet{subnet("10.5.0.0/16", "", "10.6.0.0/24")}}, err: "subnets[0]: ip_range 10.6.0.0/24: not inside subnet 10.5.0.0/16"},
		{name: "ip_range larger", spec: Spec{Name: "n", Subnets: []Subnet{subnet("10.5.0.0/16", "", "10.0.0.0/8")}}, err: "subnets[0]: ip_range 10.0.0.0/8: not inside"},
		{name: "ip_range of the other family", spec: Spec{Name: "n", Subnets: []Subnet{subnet("10.5.0.0/16", "", "fd00::/64")}}, err: "subnets[0]: ip_range fd00::/64: not inside"},
		{name: "ip_range the whole subnet", spec: Spec{Name: "n", Subnets: []Subnet{subnet("10.5.0.0/16", "", "10.5.0.0/16")}}},
		{name: "ipv6 without enable_ipv6", spec: Spec{Name: "n", Subnets: []Subnet{subnet("fd00:1::/64", "", "")}}, err: "subnets[0]: IPv6 subnet fd00:1::/64 needs enable_ipv6"},
		{name: "two ipv4", spec: Spec{Name: "n", Subnets: []Subnet{subnet("10.5.0.0/24", "", ""), subnet("10.6.0.0/24", "", "")}}, err: "subnets[1]: only one subnet per address family is supported"},
		{name: "two ipv6", spec: Spec{Name: "n", EnableIPv6: true, Subnets: []Subnet{subnet("fd00:1::/64", "", ""), subnet("fd00:2::/64", "", "")}}, err: "subnets[1]: only one subnet per address family"},
		{name: "ipv6 then ipv4", spec: Spec{Name: "n", EnableIPv6: true, Subnets: []Subnet{subnet("fd00:1::/64", "", ""), subnet("10.6.0.0/24", "", "")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			prefix := `network "` + tt.spec.Name + `": `
			if err == nil || !strings.HasPrefix(err.Error(), prefix+tt.err) {
				t.Fatalf("Validate = %v, want %q", err, prefix+tt.err)
			}
			if check := tt.spec.Check(); check == nil || prefix+check.Error() != err.Error() {
				t.Errorf("Check = %v: Validate must be Check with the network's name", check)
			}
		})
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"default": true, "proj_default": true, "A1.b-c": true, "0net": true,
		"": false, "_x": false, ".x": false, "a/b": false, "a b": false, "ä": false, "a:b": false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestValidIfName(t *testing.T) {
	for name, ok := range map[string]bool{
		"eth0": true, "br-1234567890ab": true, "a.b": true, "x": true,
		"": false, ".": false, "..": false, "br-1234567890abc": false, "a/b": false, "a:b": false, "a b": false, "a\tb": false, "é": false,
	} {
		if err := ValidIfName(name); (err == nil) != ok {
			t.Errorf("ValidIfName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}

func TestDiff(t *testing.T) {
	labels := map[string]string{"com.docker.compose.network": "default", "com.docker.compose.config-hash": "h1"}
	have := Spec{Name: "p_default", Labels: labels, MTU: 1400, EnableIPv6: true,
		Subnets: []Subnet{subnet("10.89.0.0/24", "10.89.0.1", ""), subnet("fd00:89::/64", "fd00:89::1", "")}}
	with := func(f func(*Spec)) Spec {
		s := have
		s.Labels = map[string]string{"com.docker.compose.network": "default", "com.docker.compose.config-hash": "h1"}
		s.Subnets = nil
		f(&s)
		return s
	}
	tests := []struct {
		name string
		want Spec
		diff string // prefix; "" when have satisfies want
	}{
		{name: "subnets left to allocation", want: with(func(*Spec) {})},
		{name: "same subnet without gateway", want: with(func(s *Spec) { s.Subnets = []Subnet{subnet("10.89.0.0/24", "", "")} })},
		{name: "same subnet and gateway", want: with(func(s *Spec) { s.Subnets = []Subnet{subnet("fd00:89::/64", "fd00:89::1", "")} })},
		{name: "every subnet", want: with(func(s *Spec) { s.Subnets = have.Subnets })},
		{name: "a bridge name is not compared here", want: with(func(s *Spec) { s.BridgeName = "br-other" })},
		{name: "another name is not compared here", want: with(func(s *Spec) { s.Name = "other" })},
		{name: "internal", want: with(func(s *Spec) { s.Internal = true }), diff: "internal: true, existing network has false"},
		{name: "enable_ipv6", want: with(func(s *Spec) { s.EnableIPv6 = false }), diff: "enable_ipv6: false, existing network has true"},
		{name: "mtu", want: with(func(s *Spec) { s.MTU = 1500 }), diff: "mtu: 1500, existing network has 1400"},
		{name: "mtu left to the kernel", want: with(func(s *Spec) { s.MTU = 0 }), diff: "mtu: 0, existing network has 1400"},
		{name: "config hash", want: with(func(s *Spec) { s.Labels["com.docker.compose.config-hash"] = "h2" }), diff: "labels: "},
		{name: "label added", want: with(func(s *Spec) { s.Labels["team"] = "a" }), diff: "labels: "},
		{name: "label removed", want: with(func(s *Spec) { delete(s.Labels, "com.docker.compose.config-hash") }), diff: "labels: "},
		{
			name: "another subnet", want: with(func(s *Spec) { s.Subnets = []Subnet{subnet("10.90.0.0/24", "", "")} }),
			diff: "subnets[0]: 10.90.0.0/24 (ipam.config), existing network has 10.89.0.0/24, fd00:89::/64",
		},
		{name: "another gateway", want: with(func(s *Spec) { s.Subnets = []Subnet{subnet("10.89.0.0/24", "10.89.0.254", "")} }), diff: "subnets[0]: 10.89.0.0/24"},
		{name: "an ip_range the network has not", want: with(func(s *Spec) { s.Subnets = []Subnet{subnet("10.89.0.0/24", "", "10.89.0.128/25")} }), diff: "subnets[0]: 10.89.0.0/24"},
		{
			name: "second subnet differs", want: with(func(s *Spec) { s.Subnets = []Subnet{subnet("10.89.0.0/24", "", ""), subnet("fd00:90::/64", "", "")} }),
			diff: "subnets[1]: fd00:90::/64",
		},
		{name: "internal reported first", want: with(func(s *Spec) { s.Internal, s.MTU = true, 9000 }), diff: "internal: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(have, tt.want)
			if tt.diff == "" {
				if got != "" {
					t.Errorf("Diff = %q, want none", got)
				}
				return
			}
			if !strings.HasPrefix(got, tt.diff) {
				t.Errorf("Diff = %q, want %q", got, tt.diff)
			}
		})
	}
	t.Run("an ip_range the want leaves out", func(t *testing.T) {
		h := Spec{Subnets: []Subnet{subnet("10.89.0.0/24", "", "10.89.0.128/25")}}
		if got := Diff(h, Spec{Subnets: []Subnet{subnet("10.89.0.0/24", "", "")}}); got == "" {
			t.Error("a network whose ip_range the file dropped is kept")
		}
	})
}

func TestPortMappingString(t *testing.T) {
	tests := []struct {
		p    PortMapping
		want string
	}{
		{PortMapping{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}, "8080:80/tcp"},
		{PortMapping{HostIP: "127.0.0.1", HostPort: 53, ContainerPort: 53, Protocol: "udp"}, "127.0.0.1:53:53/udp"},
		{PortMapping{HostIP: "::1", HostPort: 1, ContainerPort: 2, Protocol: "tcp"}, "[::1]:1:2/tcp"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String = %q, want %q", got, tt.want)
		}
	}
}

// TestJSON pins the encoding of the types the network manager stores: zero
// addresses are left out, not written as "".
func TestJSON(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{Spec{Name: "n"}, `{"name":"n"}`},
		{Spec{Name: "n", Labels: map[string]string{"a": "b"}, Internal: true, EnableIPv6: true, MTU: 1400, BridgeName: "br-x",
			Subnets: []Subnet{subnet("10.0.0.0/24", "10.0.0.1", "10.0.0.128/25")}},
			`{"name":"n","labels":{"a":"b"},"internal":true,"subnets":[{"subnet":"10.0.0.0/24","gateway":"10.0.0.1","ipRange":"10.0.0.128/25"}],"enableIPv6":true,"mtu":1400,"bridgeName":"br-x"}`},
		{Subnet{Subnet: netip.MustParsePrefix("10.0.0.0/24")}, `{"subnet":"10.0.0.0/24"}`},
		{Attachment{Network: "n"}, `{"network":"n"}`},
		{Attachment{Network: "n", IPv4: netip.MustParseAddr("10.0.0.2"), MAC: "02:00:00:00:00:01", Aliases: []string{"a"}, Priority: 2},
			`{"network":"n","ipv4":"10.0.0.2","mac":"02:00:00:00:00:01","aliases":["a"],"priority":2}`},
		{Interface{Network: "n", Name: "eth0", MAC: "m"}, `{"network":"n","name":"eth0","mac":"m"}`},
		{PortMapping{ContainerPort: 80}, `{"hostPort":0,"containerPort":80}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.v)
		if err != nil || string(b) != tt.want {
			t.Errorf("%T: %s, %v; want %s", tt.v, b, err, tt.want)
		}
	}
	var back Spec
	src := tests[1].v.(Spec)
	b, _ := json.Marshal(src)
	if err := json.Unmarshal(b, &back); err != nil || Diff(back, src) != "" || back.BridgeName != src.BridgeName {
		t.Errorf("round trip %+v, %v", back, err)
	}
}
