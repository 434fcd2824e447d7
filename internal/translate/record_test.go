package translate

import (
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/internal/runspec"
	"github.com/berth-dev/berth/network/netspec"
)

func TestRecordLabels(t *testing.T) {
	grace := types.Duration(3 * time.Second)
	plain := ocispec.ImageConfig{Cmd: []string{"x"}}
	tests := []struct {
		name string
		svc  types.ServiceConfig
		img  *ocispec.ImageConfig // testImage when nil
		in   func(*Input)
		want map[string]string // labels that must have these values; "" means absent
	}{
		{
			name: "compose labels",
			want: map[string]string{
				record.LabelProject: "proj", record.LabelService: "web", record.LabelNumber: "1",
				record.LabelOneoff: "False", record.LabelHash: "h1", record.LabelWorkDir: "/srv/proj",
				record.LabelFiles: "/srv/proj/compose.yaml", record.LabelImage: "sha256:abc",
				record.LabelDependsOn: "", record.LabelVersion: record.Version, record.LabelName: "proj-web-1",
			},
		},
		{name: "replica number", in: func(in *Input) { in.Number = 3 }, want: map[string]string{record.LabelNumber: "3"}},
		{name: "oneoff", in: func(in *Input) { in.Oneoff = true }, want: map[string]string{record.LabelOneoff: "True"}},
		{
			name: "several config files",
			in:   func(in *Input) { in.Project.ComposeFiles = []string{"/a/compose.yaml", "/a/override.yaml"} },
			want: map[string]string{record.LabelFiles: "/a/compose.yaml,/a/override.yaml"},
		},
		{
			name: "depends_on",
			in: func(in *Input) {
				in.Deps = []record.Dep{{Service: "db", Condition: record.ConditionHealthy, Restart: true}, {Service: "init", Condition: record.ConditionCompleted}}
			},
			want: map[string]string{record.LabelDependsOn: "db:service_healthy:true,init:service_completed_successfully:false"},
		},
		{name: "stop signal from the image", want: map[string]string{record.LabelStopSignal: "SIGQUIT"}},
		{name: "stop signal from the service", svc: svc(types.ContainerSpec{StopSignal: "SIGINT"}), want: map[string]string{record.LabelStopSignal: "SIGINT"}},
		{name: "stop signal default", img: &plain, want: map[string]string{record.LabelStopSignal: "SIGTERM"}},
		{name: "stop grace default", want: map[string]string{record.LabelStopGrace: "10s"}},
		{name: "stop grace", svc: svc(types.ContainerSpec{StopGracePeriod: &grace}), want: map[string]string{record.LabelStopGrace: "3s"}},
		{name: "restart default", want: map[string]string{record.LabelRestart: "no"}},
		{name: "restart", svc: types.ServiceConfig{Restart: "unless-stopped"}, want: map[string]string{record.LabelRestart: "unless-stopped"}},
		{
			name: "health check from the service",
			svc:  types.ServiceConfig{WorkloadSpec: types.WorkloadSpec{HealthCheck: &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD", "true"}}}},
			want: map[string]string{record.LabelHealthcheck: `{"test":["CMD","true"],"interval":30000000000,"timeout":30000000000,"start_period":0,"start_interval":5000000000,"retries":3}`},
		},
		{
			name: "health check from the image",
			in:   func(in *Input) { in.Image.Health = &runspec.ImageHealth{Test: []string{"CMD-SHELL", "ok"}, Retries: 5} },
			want: map[string]string{record.LabelHealthcheck: `{"test":["CMD-SHELL","ok"],"interval":30000000000,"timeout":30000000000,"start_period":0,"start_interval":5000000000,"retries":5}`},
		},
		{name: "no health check", want: map[string]string{record.LabelHealthcheck: ""}},
		{name: "networks", in: func(in *Input) { in.Networks = []string{"proj_back", "proj_front"} }, want: map[string]string{record.LabelNetworks: "proj_back,proj_front"}},
		{name: "command", svc: svc(types.ContainerSpec{Command: types.ShellCommand{"run", "--fast"}}), want: map[string]string{record.LabelCommand: "/entry run --fast"}},
		{name: "netns", in: func(in *Input) { in.NetNS = "host" }, want: map[string]string{record.LabelNetNS: "host"}},
		{
			name: "ports",
			in: func(in *Input) {
				in.Ports = []netspec.PortMapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}
			},
			want: map[string]string{record.LabelPorts: `[{"hostIP":"127.0.0.1","hostPort":8080,"containerPort":80,"protocol":"tcp"}]`},
		},
		{name: "no ports", want: map[string]string{record.LabelPorts: "", record.LabelNetworks: "", record.LabelNetNS: ""}},
		{
			name: "labels and custom labels kept",
			svc:  types.ServiceConfig{ContainerSpec: types.ContainerSpec{Labels: types.Labels{"a": "1", "b": "2"}, CustomLabels: types.Labels{"b": "custom", "c": "3"}}},
			want: map[string]string{"a": "1", "b": "custom", "c": "3"},
		},
		{
			name: "a user label cannot override berth's",
			svc:  types.ServiceConfig{ContainerSpec: types.ContainerSpec{Labels: types.Labels{record.LabelProject: "other", record.LabelRestart: "always"}}},
			want: map[string]string{record.LabelProject: "proj", record.LabelRestart: "no"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := testImage
			if tt.img != nil {
				img = *tt.img
			}
			in := testInput(tt.svc, img)
			in.Hash = "h1"
			if tt.in != nil {
				tt.in(&in)
			}
			spec, _, err := Container(in)
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				got, ok := spec.Labels[k]
				if want == "" && k != record.LabelDependsOn {
					if ok {
						t.Errorf("label %s = %q, want it absent", k, got)
					}
					continue
				}
				if !ok || got != want {
					t.Errorf("label %s = %q (present %v), want %q", k, got, ok, want)
				}
			}
		})
	}
}

// TestRecordDecodes checks what ps, down and the helper read back: the record
// Container writes decodes to the record Record made.
func TestRecordDecodes(t *testing.T) {
	grace := types.Duration(42 * time.Second)
	s := types.ServiceConfig{Name: "web", Restart: "on-failure:3"}
	s.StopGracePeriod = &grace
	s.StopSignal = "SIGUSR1"
	s.Labels = types.Labels{"team": "a"}
	s.HealthCheck = &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD", "true"}, Retries: ptr(uint64(2))}
	in := testInput(s, testImage)
	in.Hash, in.Number, in.Oneoff = "h1", 2, true
	in.Deps = []record.Dep{{Service: "db", Condition: record.ConditionHealthy, Restart: true, Required: true}}
	in.Networks, in.NetNS = []string{"proj_default"}, "/run/netns/x"
	in.Ports = []netspec.PortMapping{{HostPort: 1, ContainerPort: 2, Protocol: "udp"}}
	spec, _, err := Container(in)
	if err != nil {
		t.Fatal(err)
	}
	want := Record(in, spec.Args)
	got := record.Decode(spec.Labels)
	wantJSON, _ := json.Marshal(want)
	gotJSON, _ := json.Marshal(got)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("Decode(labels) =\n%s\nwant\n%s", gotJSON, wantJSON)
	}
	if !maps.Equal(got.User, map[string]string{"team": "a"}) {
		t.Errorf("user labels %v", got.User)
	}
	if got.StopGrace != 42*time.Second || got.StopSignal != "SIGUSR1" || got.Restart != "on-failure:3" || got.Health == nil || got.Health.Retries != 2 {
		t.Errorf("decoded %+v", got)
	}
}
