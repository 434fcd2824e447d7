package network

import (
	"net/netip"
	"strings"
	"testing"
)

func TestCheckRequest(t *testing.T) {
	m, err := NewManager(Config{DataRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	m.cniErr = nil // validation must not depend on the host's plugins
	ok := AttachRequest{ContainerID: "proj-web-1", Networks: []Attachment{
		{Network: "a", IPv4: netip.MustParseAddr("10.1.0.5"), MAC: "02:42:0a:01:00:05"},
		{Network: "b", IPv6: netip.MustParseAddr("fd00::5")},
	}, Ports: []PortMapping{{ContainerPort: 80}}}
	if _, err := m.checkRequest("/run/berth/netns/x/proj-web-1", ok); err != nil {
		t.Fatalf("valid request: %v", err)
	}
	for _, tt := range []struct {
		name    string
		path    string
		req     AttachRequest
		wantErr string
	}{
		{"container ID", "/ns", AttachRequest{ContainerID: "../x"}, "invalid container ID"},
		{"no netns", "", AttachRequest{ContainerID: "c"}, "no network namespace path"},
		{"network twice", "/ns", AttachRequest{ContainerID: "c", Networks: on("a", "a")}, `networks[1]: network "a" listed twice`},
		{"ipv4 field with ipv6", "/ns", AttachRequest{ContainerID: "c", Networks: []Attachment{{Network: "a", IPv4: netip.MustParseAddr("fd00::1")}}}, "wrong address family"},
		{"multicast mac", "/ns", AttachRequest{ContainerID: "c", Networks: []Attachment{{Network: "a", MAC: "01:00:5e:00:00:01"}}}, "not a unicast"},
		{"bad port", "/ns", AttachRequest{ContainerID: "c", Ports: []PortMapping{{ContainerPort: 80, Protocol: "icmp"}}}, "protocol"},
	} {
		if _, err := m.checkRequest(tt.path, tt.req); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestCheckStaticIPs(t *testing.T) {
	n := Network{Spec: Spec{Name: "a", Subnets: []Subnet{{Subnet: netip.MustParsePrefix("10.1.0.0/24")}}}}
	if err := checkStaticIPs(n, Attachment{IPv4: netip.MustParseAddr("10.1.0.9")}); err != nil {
		t.Errorf("address inside the subnet: %v", err)
	}
	if err := checkStaticIPs(n, Attachment{IPv4: netip.MustParseAddr("10.2.0.9")}); err == nil {
		t.Error("address outside the subnet accepted")
	}
	if err := checkStaticIPs(n, Attachment{IPv6: netip.MustParseAddr("fd00::9")}); err == nil {
		t.Error("IPv6 address on an IPv4-only network accepted")
	}
}
