package translate

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/runspec"
)

func ptr[T any](v T) *T { return &v }

// testImage is a small image config: an entrypoint, a command and the keys the
// service falls back to.
var testImage = ocispec.ImageConfig{
	Entrypoint: []string{"/entry"},
	Cmd:        []string{"serve"},
	Env:        []string{"PATH=/usr/bin", "LANG=C"},
	WorkingDir: "/app",
	User:       "app",
	StopSignal: "SIGQUIT",
}

// testInput is one replica of service s (named "web" when unnamed) of project
// "proj" running an image with config img.
func testInput(s types.ServiceConfig, img ocispec.ImageConfig) Input {
	if s.Name == "" {
		s.Name = "web"
	}
	return Input{
		Project: &types.Project{Name: "proj", WorkingDir: "/srv/proj", ComposeFiles: []string{"/srv/proj/compose.yaml"}},
		Service: s,
		Number:  1,
		Name:    "proj-web-1",
		Image:   Image{Ref: "docker.io/library/app:1", ID: "sha256:abc", Config: img},
	}
}

func TestCommandLine(t *testing.T) {
	img := ocispec.ImageConfig{Entrypoint: []string{"/entry", "-v"}, Cmd: []string{"serve", "--port=80"}}
	tests := []struct {
		name       string
		entrypoint types.ShellCommand
		command    types.ShellCommand
		img        ocispec.ImageConfig
		want       []string
	}{
		{name: "image entrypoint and cmd", img: img, want: []string{"/entry", "-v", "serve", "--port=80"}},
		{name: "command replaces the image's cmd", command: types.ShellCommand{"run"}, img: img, want: []string{"/entry", "-v", "run"}},
		{name: "entrypoint drops the image's cmd", entrypoint: types.ShellCommand{"/other"}, img: img, want: []string{"/other"}},
		{name: "entrypoint and command", entrypoint: types.ShellCommand{"/other"}, command: types.ShellCommand{"x", "y"}, img: img, want: []string{"/other", "x", "y"}},
		{name: "empty entrypoint clears the image's", entrypoint: types.ShellCommand{}, command: types.ShellCommand{"sh"}, img: img, want: []string{"sh"}},
		{name: "empty command clears the image's cmd", command: types.ShellCommand{}, img: img, want: []string{"/entry", "-v"}},
		{name: "image with cmd only", img: ocispec.ImageConfig{Cmd: []string{"sh"}}, want: []string{"sh"}},
		{name: "command on an image without either", command: types.ShellCommand{"true"}, want: []string{"true"}},
		{name: "nothing at all", want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := types.ServiceConfig{}
			s.Entrypoint, s.Command = tt.entrypoint, tt.command
			got := CommandLine(s, tt.img)
			if !slices.Equal(got, tt.want) {
				t.Errorf("CommandLine = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("does not alias the image's entrypoint", func(t *testing.T) {
		entry := make([]string, 1, 4)
		entry[0] = "/entry"
		_ = CommandLine(types.ServiceConfig{ContainerSpec: types.ContainerSpec{Command: types.ShellCommand{"a"}}}, ocispec.ImageConfig{Entrypoint: entry})
		if got := entry[:2][1]; got != "" {
			t.Errorf("CommandLine wrote %q into the image's entrypoint array", got)
		}
	})
}

func TestEnvironment(t *testing.T) {
	tests := []struct {
		name    string
		image   []string
		service types.MappingWithEquals
		want    []string
	}{
		{name: "image only", image: []string{"PATH=/bin", "A=1"}, want: []string{"PATH=/bin", "A=1"}},
		{name: "service only, sorted", service: types.MappingWithEquals{"B": ptr("2"), "A": ptr("1")}, want: []string{"A=1", "B=2"}},
		{
			name:    "service overrides in the image's order, new ones after",
			image:   []string{"PATH=/bin", "A=1"},
			service: types.MappingWithEquals{"A": ptr("x"), "Z": ptr("z"), "M": ptr("m")},
			want:    []string{"PATH=/bin", "A=x", "M=m", "Z=z"},
		},
		{name: "empty value is kept", service: types.MappingWithEquals{"E": ptr("")}, want: []string{"E="}},
		{name: "value with =", service: types.MappingWithEquals{"Q": ptr("a=b")}, want: []string{"Q=a=b"}},
		{name: "image value with =", image: []string{"Q=a=b"}, want: []string{"Q=a=b"}},
		{name: "unset variable dropped", service: types.MappingWithEquals{"U": nil, "S": ptr("1")}, want: []string{"S=1"}},
		{name: "HOSTNAME default overridden by the service", image: []string{"HOSTNAME=proj-web-1"}, service: types.MappingWithEquals{"HOSTNAME": ptr("mine")}, want: []string{"HOSTNAME=mine"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Environment(tt.image, tt.service)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Environment = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHostname(t *testing.T) {
	long := strings.Repeat("a", 70)
	tests := []struct {
		name, hostname, container, want string
	}{
		{name: "container name", container: "proj-web-1", want: "proj-web-1"},
		{name: "service hostname", hostname: "db.local", container: "proj-web-1", want: "db.local"},
		{name: "63 bytes kept", container: long[:63], want: long[:63]},
		{name: "64 bytes truncated", container: long[:64], want: long[:63]},
		{name: "long name truncated", container: long, want: long[:63]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := types.ServiceConfig{ContainerSpec: types.ContainerSpec{Hostname: tt.hostname}}
			if got := Hostname(s, tt.container); got != tt.want {
				t.Errorf("Hostname = %q, want %q", got, tt.want)
			}
		})
	}
}

// containerCase is one key of a service checked on the spec Container makes:
// field reads the part of the spec the key sets.
type containerCase struct {
	name  string
	svc   types.ServiceConfig
	img   *ocispec.ImageConfig // testImage when nil
	field func(runspec.Container) any
	want  any
}

func runContainerCases(t *testing.T, tests []containerCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := testImage
			if tt.img != nil {
				img = *tt.img
			}
			spec, _, err := Container(testInput(tt.svc, img))
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.field(spec); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func svc(cs types.ContainerSpec) types.ServiceConfig { return types.ServiceConfig{ContainerSpec: cs} }

func TestContainerProcess(t *testing.T) {
	args := func(c runspec.Container) any { return c.Args }
	env := func(c runspec.Container) any { return c.Env }
	runContainerCases(t, []containerCase{
		{name: "args from the image", field: args, want: []string{"/entry", "serve"}},
		{name: "args with command", svc: svc(types.ContainerSpec{Command: types.ShellCommand{"run", "x"}}), field: args, want: []string{"/entry", "run", "x"}},
		{name: "args with entrypoint", svc: svc(types.ContainerSpec{Entrypoint: types.ShellCommand{"/bin/sh", "-c"}}), field: args, want: []string{"/bin/sh", "-c"}},
		{name: "env: HOSTNAME first, then the image's", field: env, want: []string{"HOSTNAME=proj-web-1", "PATH=/usr/bin", "LANG=C"}},
		{
			name:  "env: the image's HOSTNAME overrides the default",
			img:   &ocispec.ImageConfig{Cmd: []string{"x"}, Env: []string{"PATH=/bin", "HOSTNAME=img"}},
			field: env, want: []string{"HOSTNAME=img", "PATH=/bin"},
		},
		{
			name:  "env: the service's HOSTNAME overrides both",
			img:   &ocispec.ImageConfig{Cmd: []string{"x"}, Env: []string{"PATH=/bin", "HOSTNAME=img"}},
			svc:   svc(types.ContainerSpec{Environment: types.MappingWithEquals{"HOSTNAME": ptr("svc")}}),
			field: env, want: []string{"HOSTNAME=svc", "PATH=/bin"},
		},
		{
			name:  "env: HOSTNAME follows the hostname key",
			img:   &ocispec.ImageConfig{Cmd: []string{"x"}},
			svc:   svc(types.ContainerSpec{Hostname: "box"}),
			field: env, want: []string{"PATH=" + DefaultPath, "HOSTNAME=box"},
		},
		{
			name:  "env: an image with a PATH keeps it",
			img:   &ocispec.ImageConfig{Cmd: []string{"x"}, Env: []string{"PATH=/opt/bin"}},
			svc:   svc(types.ContainerSpec{Hostname: "box"}),
			field: env, want: []string{"HOSTNAME=box", "PATH=/opt/bin"},
		},
		{
			name:  "env: service merged over the image, unset dropped",
			svc:   svc(types.ContainerSpec{Environment: types.MappingWithEquals{"LANG": ptr("en"), "NEW": ptr("1"), "GONE": nil}}),
			field: env, want: []string{"HOSTNAME=proj-web-1", "PATH=/usr/bin", "LANG=en", "NEW=1"},
		},
		{name: "working_dir from the image", field: func(c runspec.Container) any { return c.Cwd }, want: "/app"},
		{name: "working_dir from the service", svc: svc(types.ContainerSpec{WorkingDir: "/srv"}), field: func(c runspec.Container) any { return c.Cwd }, want: "/srv"},
		{name: "user from the image", field: func(c runspec.Container) any { return c.User }, want: "app"},
		{name: "user from the service", svc: svc(types.ContainerSpec{User: "1000:1000"}), field: func(c runspec.Container) any { return c.User }, want: "1000:1000"},
		{name: "group_add", svc: svc(types.ContainerSpec{GroupAdd: []string{"audio", "42"}}), field: func(c runspec.Container) any { return c.GroupAdd }, want: []string{"audio", "42"}},
		{name: "no user anywhere", img: &ocispec.ImageConfig{Cmd: []string{"x"}}, field: func(c runspec.Container) any { return c.User + c.Cwd }, want: ""},
	})
}

func TestContainerIdentity(t *testing.T) {
	named := types.ServiceConfig{Name: "web"}
	runContainerCases(t, []containerCase{
		{name: "id is the container name", field: func(c runspec.Container) any { return c.ID }, want: "proj-web-1"},
		{name: "image reference", field: func(c runspec.Container) any { return c.Image }, want: "docker.io/library/app:1"},
		{name: "hostname defaults to the container name", svc: named, field: func(c runspec.Container) any { return c.Hostname }, want: "proj-web-1"},
		{name: "hostname", svc: svc(types.ContainerSpec{Hostname: "box"}), field: func(c runspec.Container) any { return c.Hostname }, want: "box"},
		{name: "domainname", svc: svc(types.ContainerSpec{DomainName: "example.test"}), field: func(c runspec.Container) any { return c.Domainname }, want: "example.test"},
		{name: "labels are the record", field: func(c runspec.Container) any {
			return c.Labels["com.docker.compose.service"] + " " + c.Labels["berth.command"]
		}, want: "web /entry serve"},
	})
	t.Run("hostname truncated to 63 bytes", func(t *testing.T) {
		in := testInput(types.ServiceConfig{}, testImage)
		in.Name = strings.Repeat("n", 80)
		spec, _, err := Container(in)
		if err != nil {
			t.Fatal(err)
		}
		if spec.Hostname != in.Name[:63] || spec.Env[0] != "HOSTNAME="+in.Name[:63] {
			t.Errorf("hostname %q, env %q: want the name's first 63 bytes", spec.Hostname, spec.Env[0])
		}
	})
}

func TestContainerTerminal(t *testing.T) {
	ws := types.WorkloadSpec{Tty: true, StdinOpen: true}
	runContainerCases(t, []containerCase{
		{name: "tty", svc: types.ServiceConfig{WorkloadSpec: types.WorkloadSpec{Tty: true}}, field: func(c runspec.Container) any { return [2]bool{c.Tty, c.Stdin} }, want: [2]bool{true, false}},
		{name: "stdin_open", svc: types.ServiceConfig{WorkloadSpec: types.WorkloadSpec{StdinOpen: true}}, field: func(c runspec.Container) any { return [2]bool{c.Tty, c.Stdin} }, want: [2]bool{false, true}},
		{name: "both", svc: types.ServiceConfig{WorkloadSpec: ws}, field: func(c runspec.Container) any { return [2]bool{c.Tty, c.Stdin} }, want: [2]bool{true, true}},
		{name: "neither", field: func(c runspec.Container) any { return [2]bool{c.Tty, c.Stdin} }, want: [2]bool{false, false}},
	})
}

func TestContainerInputs(t *testing.T) {
	in := testInput(types.ServiceConfig{}, testImage)
	in.Mounts = []specs.Mount{{Type: "bind", Source: "/h", Destination: "/c"}}
	in.NetNS = "/run/netns/x"
	spec, _, err := Container(in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(spec.Mounts, in.Mounts) || spec.NetNSPath != in.NetNS {
		t.Errorf("mounts %v, netns %q: want the input's", spec.Mounts, spec.NetNSPath)
	}
}

func TestContainerSecurity(t *testing.T) {
	runContainerCases(t, []containerCase{
		{name: "privileged", svc: svc(types.ContainerSpec{Privileged: true}), field: func(c runspec.Container) any { return c.Privileged }, want: true},
		{name: "read_only", svc: svc(types.ContainerSpec{ReadOnly: true}), field: func(c runspec.Container) any { return c.ReadOnly }, want: true},
		{name: "unprivileged, writable", field: func(c runspec.Container) any { return [2]bool{c.Privileged, c.ReadOnly} }, want: [2]bool{}},
		{name: "cap_add", svc: svc(types.ContainerSpec{CapAdd: []string{"NET_ADMIN"}}), field: func(c runspec.Container) any { return c.CapAdd }, want: []string{"NET_ADMIN"}},
		{name: "cap_drop", svc: svc(types.ContainerSpec{CapDrop: []string{"ALL"}}), field: func(c runspec.Container) any { return c.CapDrop }, want: []string{"ALL"}},
		{name: "sysctls", svc: svc(types.ContainerSpec{Sysctls: types.Mapping{"net.core.somaxconn": "1024"}}), field: func(c runspec.Container) any { return c.Sysctls }, want: map[string]string{"net.core.somaxconn": "1024"}},
	})
}

func TestSecurityOpts(t *testing.T) {
	tests := []struct {
		opts     []string
		nnp      bool
		seccomp  string
		warnings []string // substrings, one per warning
	}{
		{opts: nil},
		{opts: []string{"no-new-privileges"}, nnp: true},
		{opts: []string{"no-new-privileges:true"}, nnp: true},
		{opts: []string{"no-new-privileges=true"}, nnp: true},
		{opts: []string{"no-new-privileges:false"}},
		{opts: []string{"seccomp:unconfined"}, seccomp: "unconfined"},
		{opts: []string{"seccomp=unconfined"}, seccomp: "unconfined"},
		{opts: []string{"seccomp=/etc/profile.json"}, warnings: []string{`"seccomp=/etc/profile.json"`}},
		{opts: []string{"apparmor:unconfined", "label=disable"}, warnings: []string{`"apparmor:unconfined"`, `"label=disable"`}},
		{opts: []string{"no-new-privileges:maybe"}, warnings: []string{`"no-new-privileges:maybe"`}},
		{opts: []string{"seccomp:unconfined", "no-new-privileges", "label:type:x"}, nnp: true, seccomp: "unconfined", warnings: []string{`"label:type:x"`}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.opts, ","), func(t *testing.T) {
			spec, warnings, err := Container(testInput(svc(types.ContainerSpec{SecurityOpt: tt.opts}), testImage))
			if err != nil {
				t.Fatal(err)
			}
			if spec.NoNewPrivileges != tt.nnp || spec.Seccomp != tt.seccomp {
				t.Errorf("no-new-privileges %v, seccomp %q; want %v, %q", spec.NoNewPrivileges, spec.Seccomp, tt.nnp, tt.seccomp)
			}
			if len(warnings) != len(tt.warnings) {
				t.Fatalf("warnings %q, want %d", warnings, len(tt.warnings))
			}
			for i, w := range tt.warnings {
				if !strings.Contains(warnings[i], w) || !strings.Contains(warnings[i], `service "web"`) || !strings.Contains(warnings[i], "security_opt") {
					t.Errorf("warning %q does not name the service, security_opt and %s", warnings[i], w)
				}
			}
		})
	}
}

func TestContainerLimits(t *testing.T) {
	rl := func(c runspec.Container) any { return c.Rlimits }
	runContainerCases(t, []containerCase{
		{
			name:  "ulimits single sets soft and hard",
			svc:   svc(types.ContainerSpec{Ulimits: map[string]*types.UlimitsConfig{"nproc": {Single: 65535}}}),
			field: rl, want: []specs.POSIXRlimit{{Type: "RLIMIT_NPROC", Soft: 65535, Hard: 65535}},
		},
		{
			name:  "ulimits soft and hard, sorted by name",
			svc:   svc(types.ContainerSpec{Ulimits: map[string]*types.UlimitsConfig{"nofile": {Soft: 1024, Hard: 4096}, "core": {Soft: 0, Hard: 0}, "memlock": {Single: -1}}}),
			field: rl, want: []specs.POSIXRlimit{{Type: "RLIMIT_CORE"}, {Type: "RLIMIT_MEMLOCK", Soft: ^uint64(0), Hard: ^uint64(0)}, {Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096}},
		},
		{name: "no ulimits", field: rl, want: []specs.POSIXRlimit(nil)},
		{name: "shm_size", svc: svc(types.ContainerSpec{ShmSize: 256 << 20}), field: func(c runspec.Container) any { return c.ShmSize }, want: int64(256 << 20)},
		{name: "cpu_shares", svc: svc(types.ContainerSpec{CPUShares: 512}), field: func(c runspec.Container) any { return c.CPUShares }, want: uint64(512)},
		{name: "cpuset", svc: svc(types.ContainerSpec{CPUSet: "0-1"}), field: func(c runspec.Container) any { return c.CPUSet }, want: "0-1"},
		{name: "oom_score_adj", svc: svc(types.ContainerSpec{OomScoreAdj: -500}), field: func(c runspec.Container) any { return c.OOMScoreAdj }, want: -500},
	})
}

// resources is the part of the spec the resource keys set.
type resources struct {
	Mem, Reserve, Swap, Pids, Quota int64
	Period                          uint64
}

func TestContainerResources(t *testing.T) {
	res := func(c runspec.Container) any {
		return resources{c.MemoryLimit, c.MemoryReserve, c.MemorySwap, c.PidsLimit, c.CPUQuota, c.CPUPeriod}
	}
	deploy := func(limits, reservations *types.Resource) *types.DeployConfig {
		return &types.DeployConfig{Resources: types.Resources{Limits: limits, Reservations: reservations}}
	}
	tests := []containerCase{
		{name: "none", want: resources{}},
		{name: "mem_limit", svc: svc(types.ContainerSpec{MemLimit: 64 << 20}), want: resources{Mem: 64 << 20}},
		{name: "mem_reservation", svc: svc(types.ContainerSpec{MemReservation: 32 << 20}), want: resources{Reserve: 32 << 20}},
		{name: "memswap_limit", svc: svc(types.ContainerSpec{MemSwapLimit: 128 << 20}), want: resources{Swap: 128 << 20}},
		{name: "memswap_limit unlimited", svc: svc(types.ContainerSpec{MemSwapLimit: -1}), want: resources{Swap: -1}},
		{name: "pids_limit", svc: svc(types.ContainerSpec{PidsLimit: 100}), want: resources{Pids: 100}},
		{name: "cpus", svc: svc(types.ContainerSpec{CPUS: 1.5}), want: resources{Quota: 150000, Period: 100000}},
		{name: "cpus fraction", svc: svc(types.ContainerSpec{CPUS: 0.25}), want: resources{Quota: 25000, Period: 100000}},
		{name: "cpu_quota and cpu_period", svc: svc(types.ContainerSpec{CPUQuota: 50000, CPUPeriod: 200000}), want: resources{Quota: 50000, Period: 200000}},
		{name: "cpu_period alone does nothing", svc: svc(types.ContainerSpec{CPUPeriod: 200000}), want: resources{}},
		{name: "cpus wins over cpu_quota", svc: svc(types.ContainerSpec{CPUS: 2, CPUQuota: 50000, CPUPeriod: 200000}), want: resources{Quota: 200000, Period: 100000}},
		{
			name: "deploy limits override the service keys",
			svc: types.ServiceConfig{
				Deploy:        deploy(&types.Resource{MemoryBytes: 1 << 30, NanoCPUs: 0.5, Pids: 7}, &types.Resource{MemoryBytes: 1 << 20}),
				ContainerSpec: types.ContainerSpec{MemLimit: 64 << 20, MemReservation: 32 << 20, PidsLimit: 100, CPUS: 3},
			},
			want: resources{Mem: 1 << 30, Reserve: 1 << 20, Pids: 7, Quota: 50000, Period: 100000},
		},
		{
			name: "deploy limits left zero keep the service keys",
			svc: types.ServiceConfig{
				Deploy:        deploy(&types.Resource{}, &types.Resource{}),
				ContainerSpec: types.ContainerSpec{MemLimit: 64 << 20, MemReservation: 32 << 20, PidsLimit: 100, CPUS: 3},
			},
			want: resources{Mem: 64 << 20, Reserve: 32 << 20, Pids: 100, Quota: 300000, Period: 100000},
		},
		{
			name: "deploy cpus override cpu_quota",
			svc:  types.ServiceConfig{Deploy: deploy(&types.Resource{NanoCPUs: 1}, nil), ContainerSpec: types.ContainerSpec{CPUQuota: 50000, CPUPeriod: 200000}},
			want: resources{Quota: 100000, Period: 100000},
		},
		{name: "deploy without resources", svc: types.ServiceConfig{Deploy: &types.DeployConfig{}, ContainerSpec: types.ContainerSpec{MemLimit: 5}}, want: resources{Mem: 5}},
	}
	for i := range tests {
		tests[i].field = res
	}
	runContainerCases(t, tests)
}

func TestUnsupported(t *testing.T) {
	tests := []struct {
		key string
		set func(*types.ServiceConfig)
	}{
		{"devices", func(s *types.ServiceConfig) { s.Devices = []types.DeviceMapping{{Source: "/dev/fuse"}} }},
		{"gpus", func(s *types.ServiceConfig) { s.Gpus = []types.DeviceRequest{{Count: 1}} }},
		{"blkio_config", func(s *types.ServiceConfig) { s.BlkioConfig = &types.BlkioConfig{Weight: 10} }},
		{"cgroup_parent", func(s *types.ServiceConfig) { s.CgroupParent = "/x" }},
		{"isolation", func(s *types.ServiceConfig) { s.Isolation = "process" }},
		{"runtime", func(s *types.ServiceConfig) { s.Runtime = "runsc" }},
		{"userns_mode", func(s *types.ServiceConfig) { s.UserNSMode = "host" }},
		{"storage_opt", func(s *types.ServiceConfig) { s.StorageOpt = map[string]string{"size": "1G"} }},
		{"init", func(s *types.ServiceConfig) { s.Init = ptr(true) }},
		{"uts", func(s *types.ServiceConfig) { s.Uts = "host" }},
		{"cgroup", func(s *types.ServiceConfig) { s.Cgroup = "host" }},
		{"platform", func(s *types.ServiceConfig) { s.Platform = "linux/arm64" }},
		{"device_cgroup_rules", func(s *types.ServiceConfig) { s.DeviceCgroupRules = []string{"c 1:3 mr"} }},
		{"credential_spec", func(s *types.ServiceConfig) { s.CredentialSpec = &types.CredentialSpecConfig{File: "x"} }},
		{"logging.driver", func(s *types.ServiceConfig) { s.Logging = &types.LoggingConfig{Driver: "syslog"} }},
		{"post_start", func(s *types.ServiceConfig) { s.PostStart = []types.ServiceHook{{Command: types.ShellCommand{"x"}}} }},
		{"pre_stop", func(s *types.ServiceConfig) { s.PreStop = []types.ServiceHook{{Command: types.ShellCommand{"x"}}} }},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			s := types.ServiceConfig{Name: "web"}
			tt.set(&s)
			_, warnings, err := Container(testInput(s, testImage))
			if err != nil {
				t.Fatal(err)
			}
			want := `service "web": ` + tt.key + " is not supported by berth yet and is ignored"
			if !slices.Equal(warnings, []string{want}) {
				t.Errorf("warnings %q, want exactly [%q]", warnings, want)
			}
		})
	}
	t.Run("supported values are not warned", func(t *testing.T) {
		s := types.ServiceConfig{Name: "web"}
		s.Init = ptr(false)
		s.Logging = &types.LoggingConfig{Driver: "json-file"}
		if w := Unsupported(s); len(w) != 0 {
			t.Errorf("init false, logging json-file: warnings %q", w)
		}
		s.Logging = &types.LoggingConfig{Driver: "local"}
		if w := Unsupported(s); len(w) != 0 {
			t.Errorf("logging local: warnings %q", w)
		}
		s.Logging = &types.LoggingConfig{Options: map[string]string{"max-size": "1m"}}
		if w := Unsupported(s); len(w) != 0 {
			t.Errorf("logging options only: warnings %q", w)
		}
	})
	t.Run("all at once, each once", func(t *testing.T) {
		s := types.ServiceConfig{Name: "web"}
		for _, tt := range tests {
			tt.set(&s)
		}
		w := Unsupported(s)
		if len(w) != len(tests) {
			t.Fatalf("%d warnings for %d keys: %q", len(w), len(tests), w)
		}
		for i, tt := range tests {
			if !strings.Contains(w[i], " "+tt.key+" ") {
				t.Errorf("warning %d %q does not name %s", i, w[i], tt.key)
			}
		}
	})
}

func TestContainerNoCommand(t *testing.T) {
	in := testInput(types.ServiceConfig{}, ocispec.ImageConfig{Env: []string{"A=1"}})
	_, _, err := Container(in)
	if err == nil {
		t.Fatal("no error for an image without CMD or ENTRYPOINT and no command")
	}
	for _, want := range []string{`service "web"`, "no command", in.Image.Ref} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	in.Service.Entrypoint = types.ShellCommand{}
	in.Image.Config = testImage
	if _, _, err := Container(in); err == nil {
		t.Error("no error when entrypoint: [] clears the image's and no command is set")
	}
}
