package kube

import (
	"reflect"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/project"
)

func dur(d time.Duration) *types.Duration { v := types.Duration(d); return &v }

func TestHealthOf(t *testing.T) {
	retries := uint64(5)
	for _, tc := range []struct {
		name      string
		hc        *types.HealthCheckConfig
		want      *healthCheck
		inherited bool
	}{
		{"none", nil, nil, false},
		{"disabled", &types.HealthCheckConfig{Test: []string{"CMD", "true"}, Disable: true}, nil, false},
		{"NONE", &types.HealthCheckConfig{Test: []string{"NONE"}}, nil, false},
		{"tunes the image's", &types.HealthCheckConfig{Interval: dur(time.Second)}, nil, true},
		{"CMD with defaults", &types.HealthCheckConfig{Test: []string{"CMD", "curl", "-f", "http://localhost"}},
			&healthCheck{Argv: []string{"curl", "-f", "http://localhost"}, Interval: 30 * time.Second, Timeout: 30 * time.Second,
				StartInterval: 5 * time.Second, Retries: 3}, false},
		{"CMD-SHELL with all keys", &types.HealthCheckConfig{Test: []string{"CMD-SHELL", "pg_isready -U $$USER"},
			Interval: dur(2 * time.Second), Timeout: dur(time.Second), Retries: &retries, StartPeriod: dur(20 * time.Second),
			StartInterval: dur(time.Second)},
			&healthCheck{Argv: []string{"/bin/sh", "-c", "pg_isready -U $$USER"}, Interval: 2 * time.Second, Timeout: time.Second,
				StartPeriod: 20 * time.Second, StartInterval: time.Second, Retries: 5}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, inherited := healthOf(types.ServiceConfig{WorkloadSpec: types.WorkloadSpec{HealthCheck: tc.hc}})
			if !reflect.DeepEqual(got, tc.want) || inherited != tc.inherited {
				t.Errorf("got %+v %v, want %+v %v", got, inherited, tc.want, tc.inherited)
			}
		})
	}
}

func TestRestartOf(t *testing.T) {
	three := uint64(3)
	for _, tc := range []struct {
		s    types.ServiceConfig
		want restartPolicy
	}{
		{types.ServiceConfig{}, restartPolicy{Name: "no"}},
		{types.ServiceConfig{Restart: "always"}, restartPolicy{Name: "always"}},
		{types.ServiceConfig{Restart: "on-failure:4"}, restartPolicy{Name: "on-failure", MaxRetries: 4}},
		{types.ServiceConfig{Deploy: &types.DeployConfig{RestartPolicy: &types.RestartPolicy{Condition: "on-failure", MaxAttempts: &three}}},
			restartPolicy{Name: "on-failure", MaxRetries: 3}},
		{types.ServiceConfig{Deploy: &types.DeployConfig{RestartPolicy: &types.RestartPolicy{Condition: "none"}}}, restartPolicy{Name: "no"}},
		{types.ServiceConfig{Deploy: &types.DeployConfig{RestartPolicy: &types.RestartPolicy{Condition: "any"}}}, restartPolicy{Name: "always"}},
	} {
		if got := restartOf(tc.s); got != tc.want {
			t.Errorf("restartOf(%+v) = %+v, want %+v", tc.s.Restart, got, tc.want)
		}
	}
}

func TestPortsAndExpose(t *testing.T) {
	s := types.ServiceConfig{Name: "web", WorkloadSpec: types.WorkloadSpec{
		Ports: []types.ServicePortConfig{
			{Target: 80, Published: "8080", HostIP: "127.0.0.1", Protocol: "tcp"},
			{Target: 53, Protocol: "udp"},
			{Target: 443, Published: "8443-8445"},
		},
		Expose: types.StringOrNumberList{"9000", "9100-9101/udp"},
	}}
	ports, err := portsOf(s)
	if err != nil {
		t.Fatal(err)
	}
	want := []portMapping{{80, 8080, "127.0.0.1", "tcp"}, {53, 0, "", "udp"}, {443, 8443, "", "tcp"}}
	if !reflect.DeepEqual(ports, want) {
		t.Errorf("ports %+v, want %+v", ports, want)
	}
	exposed, err := exposedOf(s)
	if err != nil {
		t.Fatal(err)
	}
	wantExposed := []portMapping{{Target: 9000, Protocol: "tcp"}, {Target: 9100, Protocol: "udp"}, {Target: 9101, Protocol: "udp"}}
	if !reflect.DeepEqual(exposed, wantExposed) {
		t.Errorf("exposed %+v, want %+v", exposed, wantExposed)
	}
	if _, err := exposedOf(types.ServiceConfig{Name: "x", WorkloadSpec: types.WorkloadSpec{Expose: types.StringOrNumberList{"http"}}}); err == nil {
		t.Error("expose: http accepted")
	}
}

func TestDependenciesFoldedAndSorted(t *testing.T) {
	p := &types.Project{Services: types.Services{"db": {Name: "db"}, "cache": {Name: "cache"}, "migrate": {Name: "migrate"}}}
	s := types.ServiceConfig{Name: "api", WorkloadSpec: types.WorkloadSpec{DependsOn: types.DependsOnConfig{
		"migrate": {Condition: types.ServiceConditionCompletedSuccessfully},
		"db":      {Condition: types.ServiceConditionHealthy, Restart: true},
		"cache":   {},
		"absent":  {Condition: types.ServiceConditionStarted, Required: false},
	}}}
	want := []dependency{
		{Service: "cache", Condition: types.ServiceConditionStarted},
		{Service: "db", Condition: types.ServiceConditionHealthy, Restart: true},
		{Service: "migrate", Condition: types.ServiceConditionCompletedSuccessfully},
	}
	p.Services["api"] = s
	g, err := project.NewGraph(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := dependenciesOf(p, g, s); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestFileRefsTargetsAndModes(t *testing.T) {
	mode := types.FileMode(0o400)
	p := &types.Project{
		Secrets: types.Secrets{"db_pw": {Name: "app_db_pw", File: "/p/pw.txt"}},
		Configs: types.Configs{"conf": {Name: "app_conf", Content: "x=1"}},
	}
	s := types.ServiceConfig{Name: "api", ContainerSpec: types.ContainerSpec{
		Secrets: []types.ServiceSecretConfig{{Source: "db_pw"}, {Source: "db_pw", Target: "other", Mode: &mode}},
		Configs: []types.ServiceConfigObjConfig{{Source: "conf"}, {Source: "conf", Target: "/etc/app.conf"}},
	}}
	refs, err := fileRefsOf(p, s)
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]any
	for _, r := range refs {
		got = append(got, [2]any{r.Target, r.Mode})
	}
	want := [][2]any{{"/run/secrets/db_pw", uint32(0o444)}, {"/run/secrets/other", uint32(0o400)},
		{"/conf", uint32(0o444)}, {"/etc/app.conf", uint32(0o444)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	s.Secrets = []types.ServiceSecretConfig{{Source: "missing"}}
	if _, err := fileRefsOf(p, s); err == nil {
		t.Error("an undefined secret was accepted")
	}
}

func TestMountsClassified(t *testing.T) {
	p := &types.Project{Volumes: types.Volumes{"data": {Name: "app_data"}}}
	s := types.ServiceConfig{Name: "db", ContainerSpec: types.ContainerSpec{
		Volumes: []types.ServiceVolumeConfig{
			{Type: types.VolumeTypeVolume, Source: "data", Target: "/var/lib/db/", ReadOnly: true},
			{Type: types.VolumeTypeVolume, Target: "/cache"},
			{Type: types.VolumeTypeBind, Source: "/src", Target: "/app"},
			{Type: types.VolumeTypeTmpfs, Target: "/tmp", Tmpfs: &types.ServiceVolumeTmpfs{Size: 1 << 20}},
			{Type: types.VolumeTypeNamedPipe, Source: `\\.\pipe\x`, Target: "/pipe"},
		},
		Tmpfs: types.StringList{"/run:size=1m"},
	}}
	mounts, ignored, err := mountsOf(p, s)
	if err != nil {
		t.Fatal(err)
	}
	want := []mount{
		{Kind: mountVolume, Volume: "data", Target: "/var/lib/db", ReadOnly: true},
		{Kind: mountAnonymous, Target: "/cache"},
		{Kind: mountBind, Source: "/src", Target: "/app"},
		{Kind: mountTmpfs, Target: "/tmp", TmpfsSize: 1 << 20},
		{Kind: mountTmpfs, Target: "/run", TmpfsSize: 1 << 20},
	}
	if !reflect.DeepEqual(mounts, want) || len(ignored) != 1 {
		t.Errorf("got %+v ignored %v, want %+v", mounts, ignored, want)
	}
}
