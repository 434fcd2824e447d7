package network

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

func TestNormalizePorts(t *testing.T) {
	got, err := normalizePorts([]PortMapping{{ContainerPort: 80}, {HostIP: "::ffff:127.0.0.1", HostPort: 8053, ContainerPort: 53, Protocol: "UDP"}})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Protocol != "tcp" || got[1].Protocol != "udp" || got[1].HostIP != "127.0.0.1" {
		t.Fatalf("normalized = %+v", got)
	}
	for _, tt := range []struct {
		ports   []PortMapping
		wantErr string
	}{
		{[]PortMapping{{ContainerPort: 80, Protocol: "sctp"}}, `ports[0]: protocol "sctp"`},
		{[]PortMapping{{HostPort: 80}}, "ports[0]: container port 0"},
		{[]PortMapping{{ContainerPort: 80, HostIP: "localhost"}}, `ports[0]: host ip "localhost"`},
		{[]PortMapping{{HostPort: 8080, ContainerPort: 80}, {HostPort: 8080, ContainerPort: 81}}, "ports[1]: host port 8080/tcp is published twice"},
	} {
		if _, err := normalizePorts(tt.ports); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("normalizePorts(%+v) = %v, want %q", tt.ports, err, tt.wantErr)
		}
	}
	// The same port number on two protocols is two ports.
	if _, err := normalizePorts([]PortMapping{{HostPort: 53, ContainerPort: 53}, {HostPort: 53, ContainerPort: 53, Protocol: "udp"}}); err != nil {
		t.Errorf("tcp and udp on one port: %v", err)
	}
}

func TestResolvePorts(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := uint16(busy.Addr().(*net.TCPAddr).Port)

	_, err = resolvePorts([]PortMapping{{HostIP: "127.0.0.1", HostPort: busyPort, ContainerPort: 80, Protocol: "tcp"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "host port "+strconv.Itoa(int(busyPort))+"/tcp is already in use") {
		t.Fatalf("busy port: %v", err)
	}
	// All addresses conflicts with a listener on one of them.
	if _, err = resolvePorts([]PortMapping{{HostPort: busyPort, ContainerPort: 80, Protocol: "tcp"}}, nil); err == nil {
		t.Fatal("busy port on all addresses accepted")
	}
	mapped := map[portKey]bool{{"tcp", 40000}: true}
	_, err = resolvePorts([]PortMapping{{HostPort: 40000, ContainerPort: 80, Protocol: "tcp"}}, mapped)
	if err == nil || !strings.Contains(err.Error(), "host port 40000/tcp is already published") {
		t.Fatalf("DNATed port: %v", err)
	}
	got, err := resolvePorts([]PortMapping{{HostIP: "127.0.0.1", ContainerPort: 80, Protocol: "tcp"}, {HostIP: "127.0.0.1", ContainerPort: 53, Protocol: "udp"}}, mapped)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got {
		if p.HostPort == 0 || mapped[portKey{p.Protocol, p.HostPort}] {
			t.Errorf("picked port %+v", p)
		}
	}
}

func TestDNATPorts(t *testing.T) {
	rules := mustRules(t,
		`-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"berth-x\" id: \"c1\"" -m multiport --dports 8080,9000:9002 -j CNI-DN-0b9a0ed5a45783562bf11`,
		`-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \"berth-x\" id: \"c1\"" -m multiport --dports 53 -j CNI-DN-0b9a0ed5a45783562bf11`,
		`-A CNI-DN-0b9a0ed5a45783562bf11 -d 127.0.0.1/32 -p tcp -m tcp --dport 7777 -j DNAT --to-destination 10.89.0.2:80`,
	)
	got := dnatPorts(rules)
	for _, k := range []portKey{{"tcp", 8080}, {"tcp", 9000}, {"tcp", 9001}, {"tcp", 9002}, {"udp", 53}} {
		if !got[k] {
			t.Errorf("%v not found", k)
		}
	}
	if len(got) != 5 {
		t.Errorf("dnatPorts = %v, want 5 ports", got)
	}
}
