package record

import (
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/runspec"
	"github.com/berth-dev/berth/network/netspec"
)

// full is a record with every field set.
func full() Container {
	return Container{
		Project:     "proj",
		Service:     "web",
		Name:        "proj-web-2",
		Number:      2,
		Oneoff:      true,
		ConfigHash:  "abc123",
		WorkingDir:  "/srv/proj",
		ConfigFiles: []string{"/srv/proj/compose.yaml", "/srv/proj/compose.override.yaml"},
		ImageID:     "sha256:feed",
		DependsOn: []Dep{
			{Service: "db", Condition: ConditionHealthy, Restart: true, Required: true},
			{Service: "init", Condition: ConditionCompleted, Required: true},
		},
		StopSignal: "SIGQUIT",
		StopGrace:  90 * time.Second,
		Restart:    "on-failure:3",
		Health:     &runspec.HealthCheck{Test: []string{"CMD", "true"}, Interval: time.Second, Timeout: 2 * time.Second, StartPeriod: 3 * time.Second, StartInterval: 4 * time.Second, Retries: 5},
		Networks:   []string{"proj_back", "proj_front"},
		Command:    "/entry serve",
		NetNS:      "/run/netns/proj-web-2",
		Ports:      []netspec.PortMapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 5353, ContainerPort: 53, Protocol: "udp"}},
		User:       map[string]string{"team": "a", "tier": "front"},
	}
}

func TestLabels(t *testing.T) {
	want := map[string]string{
		"team":          "a",
		"tier":          "front",
		LabelProject:    "proj",
		LabelService:    "web",
		LabelName:       "proj-web-2",
		LabelNumber:     "2",
		LabelOneoff:     "True",
		LabelHash:       "abc123",
		LabelWorkDir:    "/srv/proj",
		LabelFiles:      "/srv/proj/compose.yaml,/srv/proj/compose.override.yaml",
		LabelImage:      "sha256:feed",
		LabelDependsOn:  "db:service_healthy:true,init:service_completed_successfully:false",
		LabelVersion:    "berth",
		LabelStopSignal: "SIGQUIT",
		LabelStopGrace:  "1m30s",
		LabelRestart:    "on-failure:3",
		LabelHealthcheck: `{"test":["CMD","true"],"interval":1000000000,"timeout":2000000000,` +
			`"start_period":3000000000,"start_interval":4000000000,"retries":5}`,
		LabelNetworks: "proj_back,proj_front",
		LabelCommand:  "/entry serve",
		LabelNetNS:    "/run/netns/proj-web-2",
		LabelPorts:    `[{"hostIP":"127.0.0.1","hostPort":8080,"containerPort":80,"protocol":"tcp"},{"hostPort":5353,"containerPort":53,"protocol":"udp"}]`,
	}
	got := full().Labels()
	if !maps.Equal(got, want) {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("label %s = %q, want %q", k, got[k], v)
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected label %s = %q", k, v)
			}
		}
	}
}

func TestLabelsOfAnEmptyRecord(t *testing.T) {
	// the labels Docker Compose always writes are there; berth's are left out
	// when they have no value
	want := map[string]string{LabelNumber: "0", LabelOneoff: "False", LabelDependsOn: "", LabelVersion: "berth"}
	if got := (Container{StopGrace: -1}).Labels(); !maps.Equal(got, want) {
		t.Errorf("Labels = %v, want %v", got, want)
	}
}

func TestLabelsUserCannotOverride(t *testing.T) {
	c := full()
	c.User = map[string]string{LabelProject: "other", LabelRestart: "always", LabelVersion: "x", "keep": "me"}
	l := c.Labels()
	if l[LabelProject] != "proj" || l[LabelRestart] != "on-failure:3" || l[LabelVersion] != "berth" || l["keep"] != "me" {
		t.Errorf("labels %v: berth's must win over the user's, the user's own kept", l)
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	minimal := Container{Project: "p", Service: "s", Number: 1, User: map[string]string{}}
	for name, c := range map[string]Container{"full": full(), "minimal": minimal} {
		t.Run(name, func(t *testing.T) {
			if got := Decode(c.Labels()); !reflect.DeepEqual(got, c) {
				t.Errorf("Decode(Labels()) =\n%+v\nwant\n%+v", got, c)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		field  func(Container) any
		want   any
	}{
		{name: "oneoff True", labels: map[string]string{LabelOneoff: "True"}, field: func(c Container) any { return c.Oneoff }, want: true},
		{name: "oneoff true", labels: map[string]string{LabelOneoff: "true"}, field: func(c Container) any { return c.Oneoff }, want: true},
		{name: "oneoff False", labels: map[string]string{LabelOneoff: "False"}, field: func(c Container) any { return c.Oneoff }, want: false},
		{name: "number malformed", labels: map[string]string{LabelNumber: "x"}, field: func(c Container) any { return c.Number }, want: 0},
		{name: "stop grace malformed", labels: map[string]string{LabelStopGrace: "soon"}, field: func(c Container) any { return c.StopGrace }, want: time.Duration(-1)},
		{name: "stop grace zero", labels: map[string]string{LabelStopGrace: "0s"}, field: func(c Container) any { return c.StopGrace }, want: time.Duration(0)},
		{name: "stop grace missing", labels: map[string]string{}, field: func(c Container) any { return c.StopGrace }, want: time.Duration(-1)},
		{name: "no config files", labels: map[string]string{}, field: func(c Container) any { return c.ConfigFiles }, want: []string(nil)},
		{name: "health check malformed", labels: map[string]string{LabelHealthcheck: "{"}, field: func(c Container) any { return c.Health }, want: (*runspec.HealthCheck)(nil)},
		{name: "health check without test", labels: map[string]string{LabelHealthcheck: `{"retries":3}`}, field: func(c Container) any { return c.Health }, want: (*runspec.HealthCheck)(nil)},
		{name: "ports malformed", labels: map[string]string{LabelPorts: "["}, field: func(c Container) any { return len(c.Ports) }, want: 0},
		{name: "depends_on empty", labels: map[string]string{LabelDependsOn: ""}, field: func(c Container) any { return c.DependsOn }, want: []Dep(nil)},
		{
			name:   "depends_on as Docker Compose writes it",
			labels: map[string]string{LabelDependsOn: "db:service_healthy:true,cache:service_started:false"},
			field:  func(c Container) any { return c.DependsOn },
			want: []Dep{
				{Service: "db", Condition: ConditionHealthy, Restart: true, Required: true},
				{Service: "cache", Condition: ConditionStarted, Required: true},
			},
		},
		{
			name:   "depends_on of older writers: name only, no restart",
			labels: map[string]string{LabelDependsOn: "db,cache::,init:service_completed_successfully"},
			field:  func(c Container) any { return c.DependsOn },
			want: []Dep{
				{Service: "db", Condition: ConditionStarted, Required: true},
				{Service: "cache", Condition: ConditionStarted, Required: true},
				{Service: "init", Condition: ConditionCompleted, Required: true},
			},
		},
		{
			name:   "user labels are what berth and Compose do not own",
			labels: map[string]string{"team": "a", LabelProject: "p", "berth.anything": "x", "com.docker.compose.other": "y", "org.opencontainers.image.title": "t"},
			field:  func(c Container) any { return c.User },
			want:   map[string]string{"team": "a", "org.opencontainers.image.title": "t"},
		},
		{name: "no legacy state", labels: map[string]string{}, field: func(c Container) any { return [2]any{c.LegacyStartedAt.IsZero(), c.LegacyStopping} }, want: [2]any{true, false}},
		{
			name:   "legacy started-at",
			labels: map[string]string{"berth.started-at": "2026-11-25T21:55:51.123456789Z"},
			field:  func(c Container) any { return c.LegacyStartedAt },
			want:   time.Date(2026, 11, 25, 21, 55, 51, 123456789, time.UTC),
		},
		{name: "legacy started-at malformed", labels: map[string]string{"berth.started-at": "yesterday"}, field: func(c Container) any { return c.LegacyStartedAt.IsZero() }, want: true},
		{name: "legacy stopping", labels: map[string]string{"berth.stopping": "true"}, field: func(c Container) any { return c.LegacyStopping }, want: true},
		{name: "legacy not stopping", labels: map[string]string{"berth.stopping": "false"}, field: func(c Container) any { return c.LegacyStopping }, want: false},
		{
			name:   "legacy labels are not user labels",
			labels: map[string]string{"berth.started-at": "2026-11-25T21:55:51Z", "berth.stopping": "true"},
			field:  func(c Container) any { return len(c.User) },
			want:   0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.field(Decode(tt.labels)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestDecodePreviousBerth decodes the labels berth wrote on a container up to
// 97bb2ad, runtime state included.
func TestDecodePreviousBerth(t *testing.T) {
	labels := map[string]string{
		"com.docker.compose.project":              "shop",
		"com.docker.compose.service":              "api",
		"com.docker.compose.container-number":     "1",
		"com.docker.compose.oneoff":               "False",
		"com.docker.compose.config-hash":          "0123",
		"com.docker.compose.project.working_dir":  "/home/u/shop",
		"com.docker.compose.project.config_files": "/home/u/shop/compose.yaml",
		"com.docker.compose.image":                "sha256:beef",
		"com.docker.compose.depends_on":           "db:service_healthy:false",
		"com.docker.compose.version":              "berth",
		"berth.container-name":                    "shop-api-1",
		"berth.stop-signal":                       "SIGTERM",
		"berth.stop-grace-period":                 "10s",
		"berth.restart":                           "always",
		"berth.command":                           "/app serve",
		"berth.networks":                          "shop_default",
		"berth.started-at":                        "2026-11-20T10:00:00Z",
		"berth.stopping":                          "true",
		"maintainer":                              "me",
	}
	got := Decode(labels)
	want := Container{
		Project: "shop", Service: "api", Name: "shop-api-1", Number: 1, ConfigHash: "0123",
		WorkingDir: "/home/u/shop", ConfigFiles: []string{"/home/u/shop/compose.yaml"}, ImageID: "sha256:beef",
		DependsOn:  []Dep{{Service: "db", Condition: ConditionHealthy, Required: true}},
		StopSignal: "SIGTERM", StopGrace: 10 * time.Second, Restart: "always", Command: "/app serve",
		Networks: []string{"shop_default"}, User: map[string]string{"maintainer": "me"},
		LegacyStartedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), LegacyStopping: true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode =\n%+v\nwant\n%+v", got, want)
	}
}

func TestOwned(t *testing.T) {
	tests := map[string]bool{
		LabelProject: true, LabelHash: true, LabelName: true, LabelAnonymous: true, "berth.started-at": true,
		"team": false, "com.docker.stack.namespace": false, "containerd.io/restart.status": false, "berthx": false,
	}
	for key, want := range tests {
		if got := Owned(key); got != want {
			t.Errorf("Owned(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestResourceLabels(t *testing.T) {
	r := Resource{Project: "proj", Key: "back", Hash: "h", User: map[string]string{"team": "a", LabelProject: "spoof"}}
	tests := []struct {
		name string
		got  map[string]string
		want map[string]string
	}{
		{name: "network", got: r.NetworkLabels(), want: map[string]string{"team": "a", LabelProject: "proj", LabelNetwork: "back", LabelVersion: "berth", LabelHash: "h"}},
		{name: "volume", got: r.VolumeLabels(), want: map[string]string{"team": "a", LabelProject: "proj", LabelVolume: "back", LabelVersion: "berth", LabelHash: "h"}},
		{name: "no hash", got: Resource{Project: "proj", Key: "k"}.NetworkLabels(), want: map[string]string{LabelProject: "proj", LabelNetwork: "k", LabelVersion: "berth"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !maps.Equal(tt.got, tt.want) {
				t.Errorf("labels %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestDecodeResource(t *testing.T) {
	want := Resource{Project: "proj", Key: "back", Hash: "h", User: map[string]string{"team": "a"}}
	for name, labels := range map[string]map[string]string{"network": want.NetworkLabels(), "volume": want.VolumeLabels()} {
		if got := DecodeResource(labels); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: DecodeResource = %+v, want %+v", name, got, want)
		}
	}
	old := DecodeResource(map[string]string{LabelProject: "proj", LabelNetwork: "default", LabelVersion: "berth"})
	if old.Hash != "" || old.Key != "default" || old.Project != "proj" {
		t.Errorf("a network made before hashes: %+v", old)
	}
}
