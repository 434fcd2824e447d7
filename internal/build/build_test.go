package build

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
	"github.com/pelletier/go-toml/v2"
)

// ---- frontendAttrs ----

func TestFrontendAttrs(t *testing.T) {
	// base are the attributes every build gets.
	base := func(extra map[string]string) map[string]string {
		m := map[string]string{"filename": "Dockerfile", "image-resolve-mode": "local"}
		maps.Copy(m, extra)
		return m
	}
	tests := []struct {
		name string
		spec Spec
		opts Options
		want map[string]string
	}{
		{"defaults", Spec{}, Options{}, base(nil)},
		{"filename from the Dockerfile path",
			Spec{Dockerfile: "/src/app/docker/Dockerfile.prod"}, Options{},
			base(map[string]string{"filename": "Dockerfile.prod"})},
		{"inline dockerfile keeps Dockerfile",
			Spec{Dockerfile: "/src/app/Dockerfile.prod", DockerfileInline: "FROM scratch"}, Options{},
			base(nil)},
		{"spec pull", Spec{Pull: true}, Options{},
			base(map[string]string{"image-resolve-mode": "pull"})},
		{"options pull", Spec{}, Options{Pull: true},
			base(map[string]string{"image-resolve-mode": "pull"})},
		{"spec no-cache", Spec{NoCache: true}, Options{},
			base(map[string]string{"no-cache": ""})},
		{"options no-cache", Spec{}, Options{NoCache: true},
			base(map[string]string{"no-cache": ""})},
		{"target", Spec{Target: "prod"}, Options{},
			base(map[string]string{"target": "prod"})},
		{"build args, options override the spec",
			Spec{Args: map[string]string{"A": "spec", "B": "spec"}},
			Options{Args: map[string]string{"B": "flag", "C": "flag"}},
			base(map[string]string{"build-arg:A": "spec", "build-arg:B": "flag", "build-arg:C": "flag"})},
		{"build args from options only", Spec{}, Options{Args: map[string]string{"X": "1"}},
			base(map[string]string{"build-arg:X": "1"})},
		{"labels", Spec{Labels: map[string]string{"org.example": "yes"}}, Options{},
			base(map[string]string{"label:org.example": "yes"})},
		{"network default", Spec{Network: "default"}, Options{}, base(nil)},
		{"network host", Spec{Network: "host"}, Options{},
			base(map[string]string{"force-network-mode": "host"})},
		{"network none", Spec{Network: "none"}, Options{},
			base(map[string]string{"force-network-mode": "none"})},
		{"extra hosts", Spec{ExtraHosts: []string{"a=1.2.3.4", "b=::1"}}, Options{},
			base(map[string]string{"add-hosts": "a=1.2.3.4,b=::1"})},
		{"shm size", Spec{ShmSize: 64 << 20}, Options{},
			base(map[string]string{"shm-size": "67108864"})},
		{"platforms", Spec{Platforms: []string{"linux/amd64", "linux/arm64"}}, Options{},
			base(map[string]string{"platform": "linux/amd64,linux/arm64"})},
		{"additional contexts", Spec{AdditionalContexts: map[string]string{"base": "/b", "assets": "/a"}}, Options{},
			base(map[string]string{"context:base": "local:ctx-base", "context:assets": "local:ctx-assets"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.spec.frontendAttrs(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("attrs:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestFrontendAttrsDoesNotMutateSpecArgs(t *testing.T) {
	// the options' args are merged into a copy: the spec is reused by other builds
	s := Spec{Args: map[string]string{"A": "spec"}}
	if _, err := s.frontendAttrs(Options{Args: map[string]string{"A": "flag", "B": "flag"}}); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"A": "spec"}; !reflect.DeepEqual(s.Args, want) {
		t.Errorf("spec args changed to %v", s.Args)
	}
}

func TestFrontendAttrsUnknownNetwork(t *testing.T) {
	_, err := Spec{Network: "bridge"}.frontendAttrs(Options{})
	if err == nil || !strings.Contains(err.Error(), `network "bridge"`) {
		t.Errorf("network bridge: err %v, want an error naming it", err)
	}
}

// ---- cacheEntries ----

func TestCacheEntries(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		export  bool
		want    []client.CacheOptionsEntry
	}{
		{"none", nil, false, nil},
		{"bare reference is a registry cache", []string{"registry.example/app:cache"}, false,
			[]client.CacheOptionsEntry{{Type: "registry", Attrs: map[string]string{"ref": "registry.example/app:cache"}}}},
		{"local import", []string{"type=local,src=/x"}, false,
			[]client.CacheOptionsEntry{{Type: "local", Attrs: map[string]string{"src": "/x"}}}},
		{"local export", []string{"type=local,dest=/x"}, true,
			[]client.CacheOptionsEntry{{Type: "local", Attrs: map[string]string{"dest": "/x"}}}},
		{"registry import keeps no mode", []string{"type=registry,ref=r/c"}, false,
			[]client.CacheOptionsEntry{{Type: "registry", Attrs: map[string]string{"ref": "r/c"}}}},
		{"registry export defaults to mode=min", []string{"type=registry,ref=r/c"}, true,
			[]client.CacheOptionsEntry{{Type: "registry", Attrs: map[string]string{"ref": "r/c", "mode": "min"}}}},
		{"registry export keeps its mode", []string{"type=registry,ref=r/c,mode=max"}, true,
			[]client.CacheOptionsEntry{{Type: "registry", Attrs: map[string]string{"ref": "r/c", "mode": "max"}}}},
		{"inline", []string{"type=inline"}, true,
			[]client.CacheOptionsEntry{{Type: "inline", Attrs: map[string]string{}}}},
		{"quoted CSV field with a comma", []string{`type=registry,"ref=r/c,x"`}, false,
			[]client.CacheOptionsEntry{{Type: "registry", Attrs: map[string]string{"ref": "r/c,x"}}}},
		{"several, in order", []string{"a/b", "type=local,src=/y"}, false,
			[]client.CacheOptionsEntry{
				{Type: "registry", Attrs: map[string]string{"ref": "a/b"}},
				{Type: "local", Attrs: map[string]string{"src": "/y"}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cacheEntries(tt.entries, tt.export)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("entries:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestCacheEntriesErrors(t *testing.T) {
	tests := []struct {
		name   string
		entry  string
		export bool
		want   string // in the error
	}{
		{"local import needs src", "type=local,dest=/x", false, "needs src="},
		{"local export needs dest", "type=local,src=/x", true, "needs dest="},
		{"missing type", "ref=r/c", false, "no type="},
		{"unknown type", "type=s3,bucket=b", false, `type "s3" is not supported`},
		{"field without =", "type=registry,ref=r/c,max", false, `"max" is not key=value`},
		{"bad CSV", `type=registry,"ref=r`, false, "cache entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cacheEntries([]string{tt.entry}, tt.export)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%q: entries %v, err %v, want an error containing %q", tt.entry, got, err, tt.want)
			}
		})
	}
}

// ---- check ----

func TestSpecCheck(t *testing.T) {
	dir := t.TempDir()
	dockerfile := filepath.Join(dir, "Dockerfile")
	writeFile(t, dockerfile, "FROM scratch\n")
	file := filepath.Join(dir, "not-a-dir")
	writeFile(t, file, "")
	ok := func(mod func(*Spec)) Spec {
		s := Spec{Name: "web", Tags: []string{"docker.io/library/web:latest"}, Context: dir, Dockerfile: dockerfile}
		if mod != nil {
			mod(&s)
		}
		return s
	}
	tests := []struct {
		name string
		spec Spec
		want string // "" for no error
	}{
		{"valid", ok(nil), ""},
		{"no tags", ok(func(s *Spec) { s.Tags = nil }), "build web: no image name"},
		{"https git context", ok(func(s *Spec) { s.Context = "https://github.com/x/y.git" }), "not supported yet"},
		{"ssh git context", ok(func(s *Spec) { s.Context = "git@github.com:x/y.git" }), "not supported yet"},
		{"github.com shorthand", ok(func(s *Spec) { s.Context = "github.com/x/y" }), "not supported yet"},
		{"context missing", ok(func(s *Spec) { s.Context = filepath.Join(dir, "nope") }), "not a directory"},
		{"context is a file", ok(func(s *Spec) { s.Context = file }), "not a directory"},
		{"dockerfile missing", ok(func(s *Spec) { s.Dockerfile = filepath.Join(dir, "Dockerfile.nope") }), "dockerfile"},
		{"inline without a file", ok(func(s *Spec) {
			s.Dockerfile = filepath.Join(dir, "Dockerfile.nope")
			s.DockerfileInline = "FROM scratch"
		}), ""},
		{"additional context directory", ok(func(s *Spec) { s.AdditionalContexts = map[string]string{"base": dir} }), ""},
		{"additional context is a file", ok(func(s *Spec) { s.AdditionalContexts = map[string]string{"base": file} }),
			"additional context base: " + file + " is not a directory"},
		{"additional context missing", ok(func(s *Spec) { s.AdditionalContexts = map[string]string{"base": filepath.Join(dir, "nope")} }),
			"is not a directory"},
		{"additional context image", ok(func(s *Spec) { s.AdditionalContexts = map[string]string{"base": "docker-image://alpine"} }),
			"only directories are supported yet"},
		{"additional context service", ok(func(s *Spec) { s.AdditionalContexts = map[string]string{"base": "service:db"} }),
			"only directories are supported yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.check()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// ---- Daemon ----

func TestDaemonConfigIsTOML(t *testing.T) {
	custom := GCLimits{ReservedSpace: "1GB", MaxUsedSpace: "20GB", MinFreeSpace: "5%", KeepDuration: "24h"}
	tests := []struct {
		name   string
		root   string
		gc     GCLimits
		wantGC GCLimits
	}{
		{"default GC", "/var/lib/berth/default/buildkit", GCLimits{}, DefaultGC},
		{"custom GC", "/var/lib/berth/default/buildkit", custom, custom},
		// quoting must hold for paths that TOML and Go escape alike
		{"root with a quote and a space", `/tmp/my "berth"/buildkit`, GCLimits{}, DefaultGC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Daemon{Root: tt.root, Containerd: "/run/containerd/containerd.sock", Namespace: "berth-test", GC: tt.gc}
			text := d.config()
			var cfg tomlTree
			if err := toml.Unmarshal([]byte(text), &cfg); err != nil {
				t.Fatalf("config does not parse as TOML: %v\n%s", err, text)
			}
			check := func(what string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v\n%s", what, got, want, text)
				}
			}
			check("root", cfg.get("root"), tt.root)
			check("insecure-entitlements", cfg.get("insecure-entitlements"), []any{"network.host"})
			check("grpc.address", cfg.get("grpc", "address"), []any{"unix://" + d.socket()})
			check("history.maxEntries", cfg.get("history", "maxEntries"), int64(20))
			check("worker.oci.enabled", cfg.get("worker", "oci", "enabled"), false)
			check("worker.containerd.enabled", cfg.get("worker", "containerd", "enabled"), true)
			check("worker.containerd.address", cfg.get("worker", "containerd", "address"), d.Containerd)
			check("worker.containerd.namespace", cfg.get("worker", "containerd", "namespace"), d.Namespace)
			check("worker.containerd.gc", cfg.get("worker", "containerd", "gc"), true)
			check("worker.containerd.reservedSpace", cfg.get("worker", "containerd", "reservedSpace"), tt.wantGC.ReservedSpace)
			check("worker.containerd.maxUsedSpace", cfg.get("worker", "containerd", "maxUsedSpace"), tt.wantGC.MaxUsedSpace)
			check("worker.containerd.minFreeSpace", cfg.get("worker", "containerd", "minFreeSpace"), tt.wantGC.MinFreeSpace)
			policies, _ := cfg.get("worker", "containerd", "gcpolicy").([]any)
			if len(policies) != 2 {
				t.Fatalf("gcpolicy = %#v, want 2 policies", cfg.get("worker", "containerd", "gcpolicy"))
			}
			first, all := tomlTree(policies[0].(map[string]any)), tomlTree(policies[1].(map[string]any))
			check("gcpolicy[0].keepDuration", first.get("keepDuration"), tt.wantGC.KeepDuration)
			check("gcpolicy[0].maxUsedSpace", first.get("maxUsedSpace"), tt.wantGC.MaxUsedSpace)
			check("gcpolicy[1].all", all.get("all"), true)
			check("gcpolicy[1].maxUsedSpace", all.get("maxUsedSpace"), tt.wantGC.MaxUsedSpace)
		})
	}
}

// tomlTree is a decoded TOML document.
type tomlTree map[string]any

// get walks tables by key; nil when a key is missing.
func (m tomlTree) get(keys ...string) any {
	var cur any = map[string]any(m)
	for _, k := range keys {
		table, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = table[k]
	}
	return cur
}

func TestDaemonSocket(t *testing.T) {
	short := "/var/lib/berth/default/buildkit"
	if got, want := (Daemon{Root: short}).socket(), short+"/buildkitd.sock"; got != want {
		t.Errorf("short root: socket %q, want %q", got, want)
	}
	long := "/" + strings.Repeat("d", 90) + "/buildkit" // root/buildkitd.sock > 100 bytes
	got := Daemon{Root: long}.socket()
	if !strings.HasPrefix(got, "/run/berth/buildkit-") || !strings.HasSuffix(got, ".sock") {
		t.Errorf("long root: socket %q, want /run/berth/buildkit-<hash>.sock", got)
	}
	if len(got) > maxSockPath {
		t.Errorf("long root: socket %q is %d bytes", got, len(got))
	}
	if again := (Daemon{Root: long}).socket(); again != got {
		t.Errorf("socket not stable for one root: %q then %q", got, again)
	}
	if other := (Daemon{Root: long + "2"}).socket(); other == got {
		t.Errorf("two long roots share the socket %q", got)
	}
	// the address given is used as it is, not the socket
	if a := (Daemon{Address: "tcp://1.2.3.4:1234", Root: short}).address(); a != "tcp://1.2.3.4:1234" {
		t.Errorf("address %q", a)
	}
}

func TestDaemonBinaryMissing(t *testing.T) {
	d := Daemon{Binary: filepath.Join(t.TempDir(), "buildkitd")}
	_, err := d.binary()
	if !errors.Is(err, ErrNoBuildkitd) {
		t.Fatalf("err %v, want ErrNoBuildkitd", err)
	}
	if !strings.Contains(err.Error(), "make runtime") || !strings.Contains(err.Error(), d.Binary) {
		t.Errorf("error %q should name the binary and say 'make runtime'", err)
	}
	// an existing Binary is used as it is
	writeFile(t, d.Binary, "")
	if got, err := d.binary(); err != nil || got != d.Binary {
		t.Errorf("existing binary: %q, %v", got, err)
	}
}

func TestDaemonRunningNone(t *testing.T) {
	tests := []struct {
		name    string
		pidFile string // "" writes none
	}{
		{"no pid file", ""},
		{"garbage", "not a pid\n"},
		{"negative", "-1\n"},
		{"live process that is not buildkitd", strconv.Itoa(os.Getpid()) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Daemon{Root: t.TempDir()}
			if tt.pidFile != "" {
				writeFile(t, d.pidFile(), tt.pidFile)
			}
			if pid := d.Running(); pid != 0 {
				t.Errorf("Running() = %d, want 0", pid)
			}
			// and stopping that is a success that signals nobody
			if err := d.Stop(); err != nil {
				t.Errorf("Stop: %v", err)
			}
		})
	}
}

// fakeProcess starts a shell that loops until killed, with argv[0] as given and
// "--config <config>" on its command line: what Running looks for in /proc. It
// returns the process and a channel closed when it exits.
func fakeProcess(t *testing.T, argv0, config string) (*os.Process, <-chan struct{}) {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	cmd := &exec.Cmd{Path: sh, Args: []string{argv0, "-c", "while :; do sleep 1; done", "sh", "--config", config}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	// between fork and exec the child's command line is still the test binary's
	deadline := time.Now().Add(5 * time.Second)
	for {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid))
		if strings.HasPrefix(string(cmdline), argv0+"\x00") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fake %s never exec'd: %q", argv0, cmdline)
		}
		time.Sleep(time.Millisecond)
	}
	return cmd.Process, exited
}

func alive(exited <-chan struct{}) bool {
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

func TestDaemonRunningAndStop(t *testing.T) {
	d := Daemon{Root: t.TempDir()}
	proc, exited := fakeProcess(t, "buildkitd", filepath.Join(d.Root, "buildkitd.toml"))
	writeFile(t, d.pidFile(), strconv.Itoa(proc.Pid)+"\n")

	if pid := d.Running(); pid != proc.Pid {
		t.Fatalf("Running() = %d, want %d", pid, proc.Pid)
	}
	// the same process does not count for another root (a recycled pid)
	if pid := (Daemon{Root: t.TempDir()}).Running(); pid != 0 {
		t.Errorf("other root: Running() = %d", pid)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop returned but the process still runs")
	}
	if _, err := os.Stat(d.pidFile()); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
}

func TestDaemonRunningNeedsBuildkitd(t *testing.T) {
	// a recycled pid naming a process with this root's config on its command line,
	// that is not buildkitd, is not the daemon
	d := Daemon{Root: t.TempDir()}
	proc, exited := fakeProcess(t, "not-buildkitd", filepath.Join(d.Root, "buildkitd.toml"))
	writeFile(t, d.pidFile(), strconv.Itoa(proc.Pid)+"\n")
	if pid := d.Running(); pid != 0 {
		t.Errorf("Running() = %d for a process that is not buildkitd", pid)
	}
	if err := d.Stop(); err != nil || !alive(exited) {
		t.Errorf("Stop: %v; it must not signal a process that is not buildkitd", err)
	}
}

func TestDaemonRunningIgnoresAnotherRootEndingLikeIt(t *testing.T) {
	// a buildkitd of root <other><root> is not the one of <root>: its config path
	// merely ends with <root>/buildkitd.toml. A stale pid file naming it (a recycled
	// pid) must not make Running claim it, or Stop would kill another berth's daemon.
	d := Daemon{Root: t.TempDir()}
	other := filepath.Join(t.TempDir(), d.Root)
	proc, _ := fakeProcess(t, "buildkitd", filepath.Join(other, "buildkitd.toml"))
	writeFile(t, d.pidFile(), strconv.Itoa(proc.Pid)+"\n")
	if pid := d.Running(); pid != 0 {
		t.Errorf("Running() = %d: claims the buildkitd of %s", pid, other)
	}
}

func TestDaemonNotOwnIsLeftAlone(t *testing.T) {
	// a daemon at an Address is someone else's, even when a buildkitd of its Root runs
	d := Daemon{Address: "unix:///nonexistent.sock", Root: t.TempDir()}
	if d.Own() {
		t.Fatal("a daemon with an Address is not berth's own")
	}
	proc, exited := fakeProcess(t, "buildkitd", filepath.Join(d.Root, "buildkitd.toml"))
	writeFile(t, d.pidFile(), strconv.Itoa(proc.Pid)+"\n")
	if err := d.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	time.Sleep(50 * time.Millisecond) // a SIGTERM would have ended the shell by now
	if !alive(exited) {
		t.Error("Stop of a daemon berth did not start signalled it")
	}
}

func TestDaemonPruneNotRunning(t *testing.T) {
	d := Daemon{Root: t.TempDir()}
	for _, all := range []bool{false, true} {
		res, err := d.Prune(t.Context(), all)
		if err != nil || res != (PruneResult{}) {
			t.Errorf("prune all=%v of a stopped daemon: %+v, %v; want zero and nil", all, res, err)
		}
	}
	// a given address is asked, and not answering is an error
	d = Daemon{Address: "unix://" + filepath.Join(t.TempDir(), "none.sock")}
	if _, err := d.Prune(t.Context(), false); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("prune of an address nobody serves: %v", err)
	}
}

// ---- status mux ----

// fixture digests: the same steps in two builds have the same digests.
var (
	dBase = digest.FromString("base")
	dRun  = digest.FromString("run")
)

// statusOf is one status of a two-step build in which RUN fails.
func statusOf() *client.SolveStatus {
	return &client.SolveStatus{
		Vertexes: []*client.Vertex{
			{Digest: dBase, Name: "[internal] load metadata"},
			{Digest: dRun, Inputs: []digest.Digest{dBase}, Name: "[2/3] RUN make", Error: "exit code: 2"},
			{Digest: digest.FromString("plain"), Name: "exporting to image"},
		},
		Statuses: []*client.VertexStatus{{ID: "s", Vertex: dRun}},
		Logs:     []*client.VertexLog{{Vertex: dRun, Data: []byte("make: *** error\n")}},
		Warnings: []*client.VertexWarning{{Vertex: dBase, Short: []byte("warn")}},
	}
}

// runMux feeds each build's statuses from its own goroutine and returns what the
// merged stream carried, by build (builds are told apart by the order of add).
func runMux(t *testing.T, prefix bool, builds map[string][]*client.SolveStatus) (*mux, []*client.SolveStatus) {
	t.Helper()
	m := newMux(prefix)
	var got []*client.SolveStatus
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for s := range m.out {
			got = append(got, s)
		}
	}()
	var wg sync.WaitGroup
	for name, statuses := range builds {
		in := m.add(name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(in)
			for _, s := range statuses {
				in <- s
			}
		}()
	}
	wg.Wait()
	m.close()
	select {
	case <-drained:
	case <-time.After(5 * time.Second):
		t.Fatal("merged stream not closed")
	}
	return m, got
}

func TestMuxPrefixRenamesAndScopes(t *testing.T) {
	web, api := statusOf(), statusOf()
	_, got := runMux(t, true, map[string][]*client.SolveStatus{"web": {web}, "api": {api}})
	if len(got) != 2 {
		t.Fatalf("%d statuses out, want 2", len(got))
	}
	// statuses are renamed in place, so web and api are the ones sent
	for _, tt := range []struct {
		name string
		s    *client.SolveStatus
	}{{"web", web}, {"api", api}} {
		v := tt.s.Vertexes
		wantNames := []string{
			"[" + tt.name + " internal] load metadata",
			"[" + tt.name + " 2/3] RUN make",
			"[" + tt.name + "] exporting to image",
		}
		for i, want := range wantNames {
			if v[i].Name != want {
				t.Errorf("%s: vertex %d named %q, want %q", tt.name, i, v[i].Name, want)
			}
		}
		base, run := scoped(tt.name, dBase), scoped(tt.name, dRun)
		if v[0].Digest != base || v[1].Digest != run {
			t.Errorf("%s: digests not scoped: %s %s", tt.name, v[0].Digest, v[1].Digest)
		}
		if len(v[1].Inputs) != 1 || v[1].Inputs[0] != base {
			t.Errorf("%s: input %v, want the scoped base %s", tt.name, v[1].Inputs, base)
		}
		if tt.s.Statuses[0].Vertex != run || tt.s.Logs[0].Vertex != run || tt.s.Warnings[0].Vertex != base {
			t.Errorf("%s: status/log/warning not remapped like their vertexes", tt.name)
		}
	}
	if web.Vertexes[1].Digest == api.Vertexes[1].Digest {
		t.Errorf("the same step of web and api share digest %s", web.Vertexes[1].Digest)
	}
}

func TestMuxWithoutPrefixLeavesStatusesAlone(t *testing.T) {
	s := statusOf()
	_, got := runMux(t, false, map[string][]*client.SolveStatus{"web": {s}})
	if len(got) != 1 || !reflect.DeepEqual(got[0], statusOf()) {
		t.Errorf("status changed without prefix: %+v", got)
	}
}

func TestMuxStep(t *testing.T) {
	// each build gets statuses of its own: the mux renames them in place
	canceled := func() *client.SolveStatus {
		return &client.SolveStatus{Vertexes: []*client.Vertex{
			{Digest: dBase, Name: "[1/3] FROM alpine", Error: "rpc error: context canceled"},
		}}
	}
	ok := func() *client.SolveStatus {
		return &client.SolveStatus{Vertexes: []*client.Vertex{{Digest: dBase, Name: "[1/3] FROM alpine"}}}
	}
	second := func() *client.SolveStatus {
		return &client.SolveStatus{Vertexes: []*client.Vertex{
			{Digest: digest.FromString("later"), Name: "[3/3] RUN later", Error: "boom"},
		}}
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), keepLog/8) // twice keepLog
	tail := func() *client.SolveStatus {
		return &client.SolveStatus{Logs: []*client.VertexLog{{Vertex: dRun, Data: big}, {Vertex: dRun, Data: []byte("the end\n")}}}
	}
	for _, prefix := range []bool{false, true} {
		t.Run(fmt.Sprintf("prefix=%v", prefix), func(t *testing.T) {
			m, _ := runMux(t, prefix, map[string][]*client.SolveStatus{
				"web":   {ok(), canceled(), statusOf(), second()},
				"clean": {ok()},
				"tail":  {statusOf(), tail()},
			})
			// the first error that is not a cancellation, with its log, unprefixed
			if step, out := m.step("web"); step != "[2/3] RUN make" || out != "make: *** error" {
				t.Errorf("web: step %q output %q", step, out)
			}
			if step, out := m.step("clean"); step != "" || out != "" {
				t.Errorf("clean build: step %q output %q", step, out)
			}
			if step, out := m.step("unknown"); step != "" || out != "" {
				t.Errorf("unknown build: step %q output %q", step, out)
			}
			step, out := m.step("tail")
			if step != "[2/3] RUN make" || len(out) > keepLog || !strings.HasSuffix(out, "the end") {
				t.Errorf("tail: step %q, %d bytes of output ending %q; want at most %d ending 'the end'",
					step, len(out), out[max(0, len(out)-20):], keepLog)
			}
			if len(out) < keepLog-len("\n") {
				t.Errorf("tail: only %d bytes kept, want about %d", len(out), keepLog)
			}
		})
	}
}

// ---- Error ----

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"bare", &Error{Name: "web", Err: errors.New("failed to solve")}, "build web: failed to solve"},
		{"step added", &Error{Name: "web", Step: "[2/3] RUN make", Err: errors.New("exit code: 2")},
			"build web: [2/3] RUN make: exit code: 2"},
		{"step not twice", &Error{Name: "web", Step: "[2/3] RUN make", Err: errors.New(`process "[2/3] RUN make" did not complete`)},
			`build web: process "[2/3] RUN make" did not complete`},
		{"output", &Error{Name: "web", Step: "RUN x", Output: "line1\nline2", Err: errors.New("exit code: 1")},
			"build web: RUN x: exit code: 1\noutput:\nline1\nline2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestIsBuildError(t *testing.T) {
	be := &Error{Name: "web", Err: errors.New("x")}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"itself", be, true},
		{"wrapped", fmt.Errorf("up: %w", be), true},
		{"joined", errors.Join(errors.New("other"), be), true},
		{"wrapped join", fmt.Errorf("up: %w", errors.Join(be)), true},
		{"nil", nil, false},
		{"other", errors.New("buildkitd does not answer"), false},
		{"not wrapped", fmt.Errorf("up: %v", be), false},
	}
	for _, tt := range tests {
		if got := IsBuildError(tt.err); got != tt.want {
			t.Errorf("%s: IsBuildError = %v, want %v", tt.name, got, tt.want)
		}
	}
	if !errors.Is(fmt.Errorf("w: %w", be), be.Err) {
		t.Error("Error does not unwrap to its cause")
	}
}

// ---- Builder ----

func TestBuilderBuildChecksBeforeConnecting(t *testing.T) {
	// nobody serves this address: an error about it means Build tried to connect
	b := &Builder{Daemon: Daemon{Address: "unix:///nonexistent.sock"}}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM scratch\n")
	good := Spec{Name: "good", Tags: []string{"docker.io/library/good:latest"}, Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
	bad := good
	bad.Name, bad.Tags = "bad", nil

	res, err := b.Build(t.Context(), []Spec{good, bad}, Options{})
	if err == nil || !strings.Contains(err.Error(), "build bad: no image name") || res != nil {
		t.Errorf("bad spec: %v, %v; want its check error and no results", res, err)
	}
	if err != nil && strings.Contains(err.Error(), "does not answer") {
		t.Errorf("Build connected before checking: %v", err)
	}
	if IsBuildError(err) {
		t.Errorf("a refused spec is not a failed build: %v", err)
	}

	res, err = b.Build(t.Context(), nil, Options{})
	if err != nil || res == nil || len(res) != 0 {
		t.Errorf("no specs: %v, %v; want an empty map and nil", res, err)
	}

	// a valid spec does connect, and fails on this address
	if _, err := b.Build(t.Context(), []Spec{good}, Options{}); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("valid spec, no daemon: %v", err)
	}
}
