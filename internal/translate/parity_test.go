package translate

// The tests in this file pin what Docker (Engine and Compose v2) does where
// the translation still differs from it. Each names the Docker code it
// follows; they fail until the translation is fixed.

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/network/netspec"
)

// `environment: [FOO]` with FOO unset in the shell reaches the engine as "FOO"
// (Compose's ToMobyEnv), which removes FOO from the container's environment,
// the image's value included (ReplaceOrAppendEnvValues; containerd's
// oci.WithEnv does the same).
func TestParityUnsetVariableRemovesTheImages(t *testing.T) {
	got := Environment([]string{"PATH=/bin", "FOO=1", "BAR=2"}, types.MappingWithEquals{"FOO": nil, "BAZ": nil})
	if want := []string{"PATH=/bin", "BAR=2"}; !slices.Equal(got, want) {
		t.Errorf("Environment = %q, want %q", got, want)
	}
}

// With a TTY the engine adds TERM=xterm to the defaults (PATH, HOSTNAME),
// which the image and the service override (CreateDaemonEnvironment).
func TestParityTermWithTTY(t *testing.T) {
	tests := []struct {
		name    string
		tty     bool
		image   []string
		service types.MappingWithEquals
		want    string // the TERM entry; "" for none
	}{
		{name: "tty", tty: true, want: "TERM=xterm"},
		{name: "no tty", want: ""},
		{name: "the image's TERM", tty: true, image: []string{"TERM=vt100"}, want: "TERM=vt100"},
		{name: "the service's TERM", tty: true, service: types.MappingWithEquals{"TERM": ptr("dumb")}, want: "TERM=dumb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := types.ServiceConfig{WorkloadSpec: types.WorkloadSpec{Tty: tt.tty}}
			s.Environment = tt.service
			spec, _, err := Container(testInput(s, ocispec.ImageConfig{Cmd: []string{"sh"}, Env: tt.image}))
			if err != nil {
				t.Fatal(err)
			}
			var term []string
			for _, kv := range spec.Env {
				if strings.HasPrefix(kv, "TERM=") {
					term = append(term, kv)
				}
			}
			if (tt.want == "" && len(term) != 0) || (tt.want != "" && !slices.Equal(term, []string{tt.want})) {
				t.Errorf("env %q, want TERM %q", spec.Env, tt.want)
			}
		})
	}
}

// extra_hosts "host.docker.internal:host-gateway" is the usual way to reach
// the host: the engine writes the host's address in its place. A literal
// "host-gateway" in /etc/hosts is not an address, so the name never resolves.
// berth's host side of a container's network is its gateway.
func TestParityHostGateway(t *testing.T) {
	s := types.ServiceConfig{ContainerSpec: types.ContainerSpec{ExtraHosts: types.HostsList{"host.docker.internal": {"host-gateway"}}}}
	ifaces := []netspec.Interface{{IPv4: netip.MustParseAddr("10.0.0.2"), Gateway: netip.MustParseAddr("10.0.0.1")}}
	hosts := string(HostsFile(s, "box", ifaces))
	if !strings.Contains(hosts, "10.0.0.1\thost.docker.internal\n") {
		t.Errorf("hosts file\n%s\nwant host.docker.internal at the gateway 10.0.0.1", hosts)
	}
}

// Docker Compose reads restart first and lets deploy.restart_policy replace
// it when both are set (getRestartPolicy in pkg/compose/create.go).
func TestParityDeployRestartPolicyWins(t *testing.T) {
	s := types.ServiceConfig{Restart: "always", Deploy: &types.DeployConfig{RestartPolicy: &types.RestartPolicy{Condition: "on-failure", MaxAttempts: ptr(uint64(2))}}}
	if got := RestartPolicy(s); got != "on-failure:2" {
		t.Errorf("RestartPolicy = %q, want on-failure:2 (deploy.restart_policy wins)", got)
	}
}

// Without a network berth has no DNS responder to put first: the service's
// dns servers replace the host's, as the engine does (setupDNS).
func TestParityDNSReplacesTheHostsWithoutNetwork(t *testing.T) {
	s := types.ServiceConfig{ContainerSpec: types.ContainerSpec{DNS: types.StringList{"9.9.9.9"}}}
	got := string(ResolvConf(s, nil, HostResolv{Servers: []string{"192.168.1.1"}}))
	if want := "nameserver 9.9.9.9\n"; got != want {
		t.Errorf("resolv.conf\n%s\nwant\n%s", got, want)
	}
}

// Docker Compose hands a service's annotations to the engine, which puts them
// in the OCI spec (HostConfig.Annotations); runspec.Container has the field
// and internal/ctrd applies it, but nothing fills it.
func TestParityAnnotations(t *testing.T) {
	s := types.ServiceConfig{ContainerSpec: types.ContainerSpec{Annotations: types.Mapping{"com.example/a": "1"}}}
	spec, _, err := Container(testInput(s, testImage))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Annotations["com.example/a"] != "1" {
		t.Errorf("annotations %v, want the service's", spec.Annotations)
	}
}
