package translate

import (
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestMounts(t *testing.T) {
	p := &types.Project{Name: "proj", Volumes: types.Volumes{"data": {Name: "proj_data"}, "ext": {Name: "shared", External: true}}}
	vol := func(v types.ServiceVolumeConfig) types.ServiceConfig {
		return types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{Volumes: []types.ServiceVolumeConfig{v}}}
	}
	tests := []struct {
		name     string
		svc      types.ServiceConfig
		want     []Mount
		warnings []string
		err      string
	}{
		{name: "none", svc: types.ServiceConfig{Name: "web"}},
		{
			name: "named volume",
			svc:  vol(types.ServiceVolumeConfig{Type: "volume", Source: "data", Target: "/var/lib/data/"}),
			want: []Mount{{Kind: "volume", Volume: "proj_data", Target: "/var/lib/data"}},
		},
		{
			name: "external volume read-only, nocopy",
			svc:  vol(types.ServiceVolumeConfig{Type: "volume", Source: "ext", Target: "/x", ReadOnly: true, Volume: &types.ServiceVolumeVolume{NoCopy: true}}),
			want: []Mount{{Kind: "volume", Volume: "shared", Target: "/x", RO: true, NoCopy: true}},
		},
		{
			name: "anonymous volume",
			svc:  vol(types.ServiceVolumeConfig{Type: "volume", Target: "/cache"}),
			want: []Mount{{Kind: "volume", Volume: AnonymousVolume("proj-web-1", "/cache"), Anon: true, Target: "/cache"}},
		},
		{
			name:     "subpath warned",
			svc:      vol(types.ServiceVolumeConfig{Type: "volume", Source: "data", Target: "/x", Volume: &types.ServiceVolumeVolume{Subpath: "sub"}}),
			want:     []Mount{{Kind: "volume", Volume: "proj_data", Target: "/x"}},
			warnings: []string{`service "web": volumes: subpath is not supported yet and is ignored`},
		},
		{name: "undefined volume", svc: vol(types.ServiceVolumeConfig{Type: "volume", Source: "nope", Target: "/x"}), err: `service "web": volumes: undefined volume "nope"`},
		{name: "relative target", svc: vol(types.ServiceVolumeConfig{Type: "volume", Source: "data", Target: "x"}), err: `service "web": volumes: target "x" must be an absolute path`},
		{name: "empty target", svc: vol(types.ServiceVolumeConfig{Type: "tmpfs"}), err: `target "" must be an absolute path`},
		{
			name: "bind",
			svc:  vol(types.ServiceVolumeConfig{Type: "bind", Source: "/srv/html", Target: "/usr/share/html", ReadOnly: true}),
			want: []Mount{{Kind: "bind", Source: "/srv/html", Target: "/usr/share/html", RO: true}},
		},
		{
			name: "bind create_host_path and propagation",
			svc:  vol(types.ServiceVolumeConfig{Type: "bind", Source: "/srv/x", Target: "/x", Bind: &types.ServiceVolumeBind{CreateHostPath: true, Propagation: "rshared"}}),
			want: []Mount{{Kind: "bind", Source: "/srv/x", Target: "/x", Create: true, Opts: []string{"rshared"}}},
		},
		{
			name: "bind create_host_path false",
			svc:  vol(types.ServiceVolumeConfig{Type: "bind", Source: "/srv/x", Target: "/x", Bind: &types.ServiceVolumeBind{CreateHostPath: false}}),
			want: []Mount{{Kind: "bind", Source: "/srv/x", Target: "/x"}},
		},
		{name: "bind relative source", svc: vol(types.ServiceVolumeConfig{Type: "bind", Source: "data", Target: "/x"}), err: `service "web": volumes: bind source "data" must be an absolute path`},
		{
			name: "tmpfs size and mode",
			svc:  vol(types.ServiceVolumeConfig{Type: "tmpfs", Target: "/tmp", Tmpfs: &types.ServiceVolumeTmpfs{Size: 64 << 20, Mode: 0o1777}}),
			want: []Mount{{Kind: "tmpfs", Target: "/tmp", Opts: []string{"size=67108864", "mode=1777"}}},
		},
		{
			name: "tmpfs without options",
			svc:  vol(types.ServiceVolumeConfig{Type: "tmpfs", Target: "/tmp"}),
			want: []Mount{{Kind: "tmpfs", Target: "/tmp"}},
		},
		{
			name: "tmpfs list after volumes",
			svc: types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{
				Tmpfs:   types.StringList{"/run:size=1m,mode=755", "/tmp/"},
				Volumes: []types.ServiceVolumeConfig{{Type: "volume", Source: "data", Target: "/d"}},
			}},
			want: []Mount{
				{Kind: "volume", Volume: "proj_data", Target: "/d"},
				{Kind: "tmpfs", Target: "/run", Opts: []string{"size=1m", "mode=755"}},
				{Kind: "tmpfs", Target: "/tmp"},
			},
		},
		{
			name:     "unknown type warned and skipped",
			svc:      vol(types.ServiceVolumeConfig{Type: "npipe", Source: "x", Target: "/x"}),
			warnings: []string{`service "web": volumes: type "npipe" is not supported and is ignored`},
		},
		{
			name: "order as written",
			svc: types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{Volumes: []types.ServiceVolumeConfig{
				{Type: "bind", Source: "/b", Target: "/b"}, {Type: "volume", Source: "data", Target: "/a"},
			}}},
			want: []Mount{{Kind: "bind", Source: "/b", Target: "/b"}, {Kind: "volume", Volume: "proj_data", Target: "/a"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings, err := Mounts(p, tt.svc, "proj-web-1")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("mounts\n%+v\nwant\n%+v", got, tt.want)
			}
			if !reflect.DeepEqual(warnings, tt.warnings) {
				t.Errorf("warnings %q, want %q", warnings, tt.warnings)
			}
		})
	}
}

func TestAnonymousVolume(t *testing.T) {
	a := AnonymousVolume("proj-web-1", "/data")
	if !strings.HasPrefix(a, "proj-web-1_anon_") || len(a) != len("proj-web-1_anon_")+12 {
		t.Errorf("AnonymousVolume = %q, want proj-web-1_anon_ and 12 hex digits", a)
	}
	if a != AnonymousVolume("proj-web-1", "/data") {
		t.Error("not stable across calls")
	}
	if a == AnonymousVolume("proj-web-1", "/other") || a == AnonymousVolume("proj-web-2", "/data") {
		t.Error("the same name for another target or container")
	}
}

func TestOCIMount(t *testing.T) {
	tests := []struct {
		name     string
		m        Mount
		hostPath string
		want     specs.Mount
	}{
		{
			name: "volume", m: Mount{Kind: "volume", Volume: "proj_data", Target: "/d"}, hostPath: "/var/lib/berth/volumes/proj_data",
			want: specs.Mount{Type: "bind", Source: "/var/lib/berth/volumes/proj_data", Destination: "/d", Options: []string{"rbind", "rw"}},
		},
		{
			name: "volume read-only", m: Mount{Kind: "volume", Target: "/d", RO: true}, hostPath: "/v",
			want: specs.Mount{Type: "bind", Source: "/v", Destination: "/d", Options: []string{"rbind", "ro"}},
		},
		{
			name: "bind uses its own source", m: Mount{Kind: "bind", Source: "/srv", Target: "/s", Opts: []string{"rslave"}}, hostPath: "/ignored",
			want: specs.Mount{Type: "bind", Source: "/srv", Destination: "/s", Options: []string{"rbind", "rw", "rslave"}},
		},
		{
			name: "tmpfs", m: Mount{Kind: "tmpfs", Target: "/tmp", Opts: []string{"size=1024"}},
			want: specs.Mount{Type: "tmpfs", Source: "tmpfs", Destination: "/tmp", Options: []string{"nosuid", "nodev", "noexec", "size=1024"}},
		},
		{
			name: "tmpfs read-only", m: Mount{Kind: "tmpfs", Target: "/tmp", RO: true},
			want: specs.Mount{Type: "tmpfs", Source: "tmpfs", Destination: "/tmp", Options: []string{"nosuid", "nodev", "noexec", "ro"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OCIMount(tt.m, tt.hostPath); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("OCIMount = %+v, want %+v", got, tt.want)
			}
		})
	}
	t.Run("does not alias the mount's options", func(t *testing.T) {
		opts := make([]string, 1, 8)
		opts[0] = "size=1"
		m := Mount{Kind: "tmpfs", Target: "/t", Opts: opts}
		_ = OCIMount(m, "")
		if opts[:2][1] != "" {
			t.Errorf("OCIMount wrote into the mount's options: %q", opts[:2])
		}
	})
}
