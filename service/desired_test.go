package service

import (
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestPortConflicts(t *testing.T) {
	svc := func(name string, replicas int, ports ...types.ServicePortConfig) DesiredService {
		return DesiredService{Name: name, Replicas: replicas, Config: types.ServiceConfig{Name: name, WorkloadSpec: types.WorkloadSpec{Ports: ports}}}
	}
	port := func(hostIP, published string, target uint32) types.ServicePortConfig {
		return types.ServicePortConfig{HostIP: hostIP, Published: published, Target: target, Protocol: "tcp"}
	}
	tests := []struct {
		name     string
		services []DesiredService
		want     string
	}{
		{"two services, one port", []DesiredService{svc("a", 1, port("", "8080", 80)), svc("b", 1, port("", "8080", 81))},
			`services "a" and "b" both publish host port 8080/tcp`},
		{"one on all addresses, one on loopback", []DesiredService{svc("a", 1, port("127.0.0.1", "8080", 80)), svc("b", 1, port("", "8080", 80))},
			`services "a" and "b" both publish host port 8080/tcp`},
		{"different addresses do not conflict", []DesiredService{svc("a", 1, port("127.0.0.1", "8080", 80)), svc("b", 1, port("127.0.0.2", "8080", 80))}, ""},
		{"replicas of one fixed port", []DesiredService{svc("web", 3, port("", "8080", 80))},
			`service "web": ports: host port 8080/tcp is published by each of its 3 replicas`},
		{"a range with replicas is fine", []DesiredService{svc("web", 3, port("", "8080-8082", 80))}, ""},
		{"host-picked ports never conflict", []DesiredService{svc("a", 2, port("", "", 80)), svc("b", 1, port("", "", 80))}, ""},
		{"a scaled-down service publishes nothing", []DesiredService{svc("a", 0, port("", "8080", 80)), svc("b", 1, port("", "8080", 80))}, ""},
		{"udp and tcp are different ports", []DesiredService{svc("a", 1, port("", "53", 53)),
			svc("b", 1, types.ServicePortConfig{Published: "53", Target: 53, Protocol: "udp"})}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := portConflicts(tt.services)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("portConflicts = %v, want %q", err, tt.want)
			}
		})
	}
}
