package service

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/volumes"
)

func withDeps(c Container, deps string) Container {
	c.Labels = map[string]string{record.LabelDependsOn: deps}
	c.DependsOn = record.Decode(c.Labels).DependsOn
	return c
}

func withStateOf(c Container, state string) Container {
	c.State = state
	return c
}

// stack is web -> api -> db (healthy), api -> cache; batch stands alone.
func stack() Observed {
	return Observed{Containers: []Container{
		running("db", 1, ""),
		withDeps(running("api", 1, ""), "db:service_healthy:true,cache:service_started:false"),
		withDeps(running("web", 1, ""), "api:service_started:false"),
		running("cache", 1, ""),
		running("batch", 1, ""),
	}}
}

func assertPlan(t *testing.T, plan *Plan, want string) {
	t.Helper()
	if got := plan.String(); strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Errorf("plan:\n%s\nwant:\n%s", got, strings.TrimSpace(want))
	}
}

func TestLifecyclePlanStopOrdersDependentsFirst(t *testing.T) {
	assertPlan(t, PlanStop(stack(), nil), `
[] -> #1 container:p-batch-1 stop
[] -> #2 container:p-web-1 stop
[#2] -> #3 container:p-api-1 stop
[#2 #3] -> #4 container:p-cache-1 stop
[#2 #3] -> #5 container:p-db-1 stop
`)
	// db still waits for web, through api which is not selected
	assertPlan(t, PlanStop(stack(), []string{"db", "web"}), `
[] -> #1 container:p-web-1 stop
[#1] -> #2 container:p-db-1 stop
`)
}

func TestLifecyclePlanStartDependenciesFirstWithConditions(t *testing.T) {
	o := stack()
	for i := range o.Containers {
		o.Containers[i].State = StateExited
	}
	assertPlan(t, mustPlan(t)(PlanStart(o, []string{"web"})), `
[] -> #1 container:p-cache-1 start
[] -> #2 container:p-db-1 start
[#2] -> #3 service:db wait-healthy
[#1 #2 #3] -> #4 container:p-api-1 start
[#4] -> #5 container:p-web-1 start
`)
	// running dependencies are not started again, but their condition holds
	o.Containers[0].State = StateRunning
	assertPlan(t, mustPlan(t)(PlanStart(o, []string{"api"})), `
[] -> #1 container:p-cache-1 start
[] -> #2 service:db wait-healthy
[#1 #2] -> #3 container:p-api-1 start
`)
	if _, err := PlanStart(o, []string{"ghost"}); err == nil || err.Error() != `service "ghost" has no container to start` {
		t.Errorf("start of a service without containers: %v", err)
	}
}

func mustPlan(t *testing.T) func(*Plan, error) *Plan {
	return func(p *Plan, err error) *Plan {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
}

func TestLifecyclePlanRestartFollowsRestartTrue(t *testing.T) {
	// api declared restart: true on db, so restarting db restarts api after it
	assertPlan(t, PlanRestart(stack(), []string{"db"}, false), `
[] -> #1 container:p-db-1 restart
[#1] -> #2 container:p-api-1 restart
`)
	assertPlan(t, PlanRestart(stack(), []string{"db"}, true), `
[] -> #1 container:p-db-1 restart
`)
}

func TestLifecyclePlanRemoveStopsFirstOnlyWithStop(t *testing.T) {
	o := stack()
	o.Containers[4] = withStateOf(o.Containers[4], StateExited) // batch
	assertPlan(t, PlanRemove(o, nil, false), `
[] -> #1 container:p-batch-1 remove
`)
	assertPlan(t, PlanRemove(o, []string{"api", "batch"}, true), `
[] -> #1 container:p-api-1 stop
[#1] -> #2 container:p-api-1 remove
[] -> #3 container:p-batch-1 remove
`)
}

func TestLifecyclePlanEachKillsPausesUnpauses(t *testing.T) {
	o := stack()
	o.Containers[0] = withStateOf(o.Containers[0], StatePaused)
	o.Containers[4] = withStateOf(o.Containers[4], StateExited)
	assertPlan(t, PlanEach(o, []string{"db", "batch", "cache"}, OpKill, isUp), `
[] -> #1 container:p-db-1 kill
[] -> #2 container:p-cache-1 kill
`)
	assertPlan(t, PlanEach(o, nil, OpUnpause, func(c Container) bool { return c.State == StatePaused }), `
[] -> #1 container:p-db-1 unpause
`)
}

// lifecycleFake is a runtime that records what the lifecycle commands ask.
type lifecycleFake struct {
	Runtime
	mu         sync.Mutex
	infos      []ctrd.ContainerInfo
	calls      []string
	labels     map[string]map[string]string
	stopSignal string
	stopGrace  time.Duration
}

func (f *lifecycleFake) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *lifecycleFake) ListContainers(context.Context, map[string]string) ([]ctrd.ContainerInfo, error) {
	return f.infos, nil
}

func (f *lifecycleFake) SetLabels(_ context.Context, id string, labels map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.labels == nil {
		f.labels = map[string]map[string]string{}
	}
	f.labels[id] = labels
	return nil
}

func (f *lifecycleFake) StopContainer(_ context.Context, id, sig string, grace time.Duration) error {
	f.record("stop " + id)
	f.stopSignal, f.stopGrace = sig, grace
	return nil
}

func (f *lifecycleFake) DeleteContainer(_ context.Context, id string) error {
	f.record("delete " + id)
	return nil
}

func (f *lifecycleFake) Kill(_ context.Context, id, sig string) error {
	f.record("kill " + id + " " + sig)
	return nil
}

func (f *lifecycleFake) Pause(context.Context, string) error { return nil }
func (f *lifecycleFake) Resume(_ context.Context, id string) error {
	f.record("resume " + id)
	return nil
}
func (f *lifecycleFake) Pids(context.Context, string) ([]uint32, error) { return nil, nil }
func (f *lifecycleFake) Metrics(context.Context, string) (ctrd.Metrics, error) {
	return ctrd.Metrics{}, nil
}
func (f *lifecycleFake) Subscribe(context.Context) (<-chan ctrd.Event, <-chan error) {
	return nil, nil
}

type detachRecorder struct {
	Networks
	mu       sync.Mutex
	detached []network.AttachRequest
}

func (n *detachRecorder) NetNSPath(id string) string { return "/run/berth/netns/" + id }

func (n *detachRecorder) Detach(_ context.Context, _ string, req network.AttachRequest) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.detached = append(n.detached, req)
	return nil
}

func fakeEngine(t *testing.T, infos ...ctrd.ContainerInfo) (*Engine, *lifecycleFake, *detachRecorder) {
	rt := &lifecycleFake{infos: infos}
	nets := &detachRecorder{}
	root := t.TempDir()
	return &Engine{Runtime: rt, Networks: nets, Volumes: volumes.NewManager(root), DataRoot: root, Namespace: "test"}, rt, nets
}

func info(name, service, status string, labels map[string]string) ctrd.ContainerInfo {
	l := map[string]string{
		"com.docker.compose.project": "p", "com.docker.compose.service": service,
		"com.docker.compose.container-number": "1", "berth.container-name": name,
	}
	for k, v := range labels {
		l[k] = v
	}
	return ctrd.ContainerInfo{ID: name, Labels: l, Status: status}
}

func TestLifecycleStopUsesStopSignalAndGracePeriod(t *testing.T) {
	eng, rt, _ := fakeEngine(t, info("p-web-1", "web", ctrd.TaskRunning,
		map[string]string{record.LabelStopSignal: "SIGQUIT", record.LabelStopGrace: "3s"}))
	if _, err := eng.Stop(t.Context(), "p", LifecycleRequest{}); err != nil {
		t.Fatal(err)
	}
	if rt.stopSignal != "SIGQUIT" || rt.stopGrace != 3*time.Second {
		t.Errorf("stopped with %q after %v, want SIGQUIT after 3s", rt.stopSignal, rt.stopGrace)
	}
	if !eng.readState("p-web-1").Stopping {
		t.Errorf("container not marked as stopping")
	}
	d := time.Second
	if _, err := eng.Stop(t.Context(), "p", LifecycleRequest{Timeout: &d}); err != nil || rt.stopGrace != time.Second {
		t.Errorf("-t 1: grace %v, err %v", rt.stopGrace, err)
	}
}

func TestLifecycleRemoveReleasesNetworkAttachment(t *testing.T) {
	eng, rt, nets := fakeEngine(t, info("p-web-1", "web", ctrd.TaskStopped,
		map[string]string{record.LabelNetNS: "/run/berth/netns/p-web-1", record.LabelNetworks: "p_default,p_back"}))
	var asked []string
	_, err := eng.Remove(t.Context(), "p", LifecycleRequest{}, func(names []string) (bool, error) {
		asked = names
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(asked, ",") != "p-web-1" {
		t.Errorf("confirmation asked for %v", asked)
	}
	if len(nets.detached) != 1 || nets.detached[0].ContainerID != "p-web-1" {
		t.Errorf("network attachment not released: %+v", nets.detached)
	}
	if !strings.Contains(strings.Join(rt.calls, ";"), "delete p-web-1") {
		t.Errorf("container not deleted: %v", rt.calls)
	}
}

func TestLifecycleRemoveDeclinedChangesNothing(t *testing.T) {
	eng, rt, _ := fakeEngine(t, info("p-web-1", "web", ctrd.TaskStopped, nil))
	plan, err := eng.Remove(t.Context(), "p", LifecycleRequest{}, func([]string) (bool, error) { return false, nil })
	if err != nil || plan != nil || len(rt.calls) > 0 {
		t.Errorf("declined rm: plan %v, err %v, calls %v", plan, err, rt.calls)
	}
}

func TestLifecycleKillResumesPausedOnSIGKILL(t *testing.T) {
	eng, rt, _ := fakeEngine(t, info("p-web-1", "web", ctrd.TaskPaused, nil), info("p-db-1", "db", ctrd.TaskStopped, nil))
	if _, err := eng.Kill(t.Context(), "p", LifecycleRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rt.calls, ";"); got != "kill p-web-1 SIGKILL;resume p-web-1" {
		t.Errorf("calls: %s", got)
	}
	if !eng.readState("p-web-1").Stopping {
		t.Errorf("SIGKILL did not keep the container down")
	}
	// other signals leave a paused container paused and its policy alone
	rt.calls, rt.labels = nil, nil
	if _, err := eng.Kill(t.Context(), "p", LifecycleRequest{Signal: "HUP"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rt.calls, ";"); got != "kill p-web-1 HUP" || rt.labels != nil {
		t.Errorf("kill -s HUP: calls %s, labels %v", got, rt.labels)
	}
}

// writeProc builds a fake /proc with one process.
func writeProc(t *testing.T) string {
	root := t.TempDir()
	files := map[string]string{
		"stat":            "cpu  1 2 3\nbtime 1700000000\nprocesses 5\n",
		"42/stat":         "42 (sh (weird) name) S 7 42 42 34817 42 4194560 100 0 0 0 250 150 0 0 20 0 1 0 360000 1000 10 0\n",
		"42/status":       "Name:\tsh\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
		"42/cmdline":      "sh\x00-c\x00sleep 5\x00",
		"7/stat":          "7 (kworker) S 2 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0 0\n",
		"7/status":        "Uid:\t0\t0\t0\t0\n",
		"7/cmdline":       "",
		"99/nothing-here": "",
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestLifecycleTopReadsProc(t *testing.T) {
	proc := procFS{root: writeProc(t), user: func(uid string) string {
		if uid == "0" {
			return "root"
		}
		return uid
	}}
	boot := time.Unix(1700000000, 0)
	// process 42 started 3600 s after boot and used 4 s of CPU; now is 400 s later
	now := boot.Add(4000 * time.Second)
	rows, err := proc.table([]uint32{99, 42, 7}, now)
	if err != nil {
		t.Fatal(err)
	}
	started := boot.Add(3600 * time.Second)
	want := [][]string{
		{"root", "7", "2", "0", startTime(boot.Add(time.Second), now), "?", "00:00:00", "[kworker]"},
		{"root", "42", "7", "1", startTime(started, now), "pts/1", "00:00:04", "sh -c sleep 5"},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows: %q", rows)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d: %q, want %q", i, rows[i], want[i])
		}
	}
}

func TestLifecycleTopFormats(t *testing.T) {
	now := time.Date(2024, 6, 5, 12, 0, 0, 0, time.Local)
	tests := []struct{ got, want string }{
		{startTime(now.Add(-time.Hour), now), "11:00"},
		{startTime(now.AddDate(0, 0, -3), now), "Jun02"},
		{startTime(now.AddDate(-1, 0, 0), now), "2023"},
		{cpuTime(100 * (2*86400 + 3*3600 + 4*60 + 5)), "2-03:04:05"},
		{cpuTime(100 * 61), "00:01:01"},
		{ttyName(0), "?"},
		{ttyName(136<<8 | 3), "pts/3"},
		{ttyName(4<<8 | 1), "tty1"},
		{ttyName(4<<8 | 65), "ttyS1"},
		{command([]byte("a\x00b c\x00"), "x"), "a b c"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if c := cpuPercent(100*500, 100*time.Second); c != 99 {
		t.Errorf("C is capped at 99, got %d", c)
	}
	if _, err := parseProcStat("42 no parens"); err == nil {
		t.Error("malformed stat accepted")
	}
}

func TestLifecycleStatsCompute(t *testing.T) {
	t0 := time.Unix(1000, 0)
	prev := statsSample{at: t0, m: ctrd.Metrics{CPUNanos: 1e9}}
	cur := statsSample{at: t0.Add(2 * time.Second), netRx: 1234, netTx: 5,
		m: ctrd.Metrics{CPUNanos: 2e9, MemUsage: 300 << 20, MemInactive: 100 << 20, MemLimit: 1 << 62, BlockRead: 7, BlockWrite: 9, PIDs: 3}}
	got := computeStats(ContainerStats{Name: "p-web-1"}, prev, cur, 1<<30)
	want := ContainerStats{Name: "p-web-1", CPUPercent: 50, MemUsage: 200 << 20, MemLimit: 1 << 30,
		MemPercent: 200.0 / 1024 * 100, NetRx: 1234, NetTx: 5, BlockRead: 7, BlockWrite: 9, PIDs: 3}
	if got != want {
		t.Errorf("stats:\n%+v\nwant\n%+v", got, want)
	}
	// the first reading has no CPU figure yet
	if first := computeStats(ContainerStats{}, statsSample{}, cur, 0); first.CPUPercent != 0 || first.MemLimit != 1<<62 {
		t.Errorf("first reading: %+v", first)
	}
	dev := "Inter-|   Receive                                                |  Transmit\n" +
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
		"    lo:    900       9    0    0    0     0          0         0      900       9    0    0    0     0       0          0\n" +
		"  eth0:   1500      12    0    0    0     0          0         0      648       8    0    0    0     0       0          0\n" +
		"  eth1:    500       2    0    0    0     0          0         0       52       1    0    0    0     0       0          0\n"
	if rx, tx := parseNetDev(dev); rx != 2000 || tx != 700 {
		t.Errorf("net/dev: rx %d tx %d", rx, tx)
	}
}

func TestLifecycleCpPathParsing(t *testing.T) {
	tests := []struct {
		in       string
		want     copyArg
		wantBase string
	}{
		{"/etc/hosts", copyArg{clean: "/etc/hosts"}, "hosts"},
		{"etc/", copyArg{clean: "/etc", dirOnly: true}, "etc"},
		{"/data/.", copyArg{clean: "/data", contents: true}, "."},
		{"/", copyArg{clean: "/", dirOnly: true}, "."},
		{"../../x", copyArg{clean: "/x"}, "x"},
	}
	for _, tt := range tests {
		got := parseCopyPath(tt.in)
		if got != tt.want || got.base() != tt.wantBase {
			t.Errorf("%q: %+v base %q, want %+v base %q", tt.in, got, got.base(), tt.want, tt.wantBase)
		}
	}
}

func write(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cpWorld is a fake container root and a host directory.
func cpWorld(t *testing.T) (ctr, host string) {
	ctr, host = t.TempDir(), t.TempDir()
	write(t, ctr+"/etc/hosts", "container hosts", 0o644)
	write(t, ctr+"/app/conf/a.conf", "a", 0o640)
	write(t, ctr+"/app/run.sh", "#!/bin/sh", 0o755)
	if err := os.Symlink("/etc/hosts", ctr+"/app/hosts-link"); err != nil {
		t.Fatal(err)
	}
	write(t, host+"/in.txt", "from host", 0o600)
	return ctr, host
}

func TestLifecycleCpRules(t *testing.T) {
	ctr, host := cpWorld(t)
	o := copyOptions{}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// file to a new name, then into an existing directory under its own name
	must(copyPath(ctr, "/etc/hosts", "/", host+"/h1", o))
	must(os.Mkdir(host+"/dir", 0o755))
	must(copyPath(ctr, "etc/hosts", "/", host+"/dir", o))
	if read(t, host+"/h1") != "container hosts" || read(t, host+"/dir/hosts") != "container hosts" {
		t.Error("file copies differ")
	}
	// a directory to a new name keeps modes; symlinks stay links
	must(copyPath(ctr, "/app", "/", host+"/app-copy", o))
	if fi, err := os.Stat(host + "/app-copy/run.sh"); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("run.sh: %v %v", fi, err)
	}
	if fi, err := os.Stat(host + "/app-copy/conf/a.conf"); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("a.conf: %v %v", fi, err)
	}
	if target, err := os.Readlink(host + "/app-copy/hosts-link"); err != nil || target != "/etc/hosts" {
		t.Errorf("hosts-link: %q %v", target, err)
	}
	// into an existing directory: nested; with "/.": merged
	must(copyPath(ctr, "/app", "/", host+"/dir", o))
	must(copyPath(ctr, "/app/.", "/", host+"/dir", o))
	for _, p := range []string{"/dir/app/run.sh", "/dir/run.sh", "/dir/conf/a.conf"} {
		if _, err := os.Stat(host + p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	// -L copies what the link points to, resolved in the container
	must(copyPath(ctr, "/app/hosts-link", "/", host+"/followed", copyOptions{follow: true}))
	if read(t, host+"/followed") != "container hosts" {
		t.Error("-L did not follow the link inside the container")
	}
	// host to container
	must(copyPath("/", host+"/in.txt", ctr, "/app/", o))
	if read(t, ctr+"/app/in.txt") != "from host" {
		t.Error("copy into the container failed")
	}
	errorsWanted := []struct{ src, dst, want string }{
		{"/app", host + "/h1", "cannot copy a directory to a file"},
		{"/etc/hosts", host + "/missing/x", "destination directory"},
		{"/etc/hosts", host + "/nodir/", "does not exist"},
		{"/etc/hosts/", host + "/x", "not a directory"},
		{"/nope", host + "/x", "no such file or directory"},
	}
	for _, tt := range errorsWanted {
		if err := copyPath(ctr, tt.src, "/", tt.dst, o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("cp %s %s: %v, want %q", tt.src, tt.dst, err, tt.want)
		}
	}
}

func TestLifecycleCpSymlinksCannotEscapeTheContainer(t *testing.T) {
	ctr, host := cpWorld(t)
	// the container plants links to the host's "/" and to a host directory
	if err := os.Symlink("/", ctr+"/escape"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../.."+host, ctr+"/climb"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(ctr+host, 0o755); err != nil {
		t.Fatal(err)
	}
	o := copyOptions{}
	for _, dst := range []string{"/escape" + host + "/pwned", "/climb/pwned", "/../../../.." + host + "/pwned"} {
		if err := copyPath("/", host+"/in.txt", ctr, dst, o); err != nil {
			t.Fatalf("cp to %s: %v", dst, err)
		}
		if _, err := os.Stat(host + "/pwned"); err == nil {
			t.Fatalf("cp to %s wrote to the host", dst)
		}
		if read(t, ctr+host+"/pwned") != "from host" {
			t.Errorf("cp to %s: not inside the container", dst)
		}
		_ = os.Remove(ctr + host + "/pwned")
	}
	// reading through the links reads the container's files, never the host's
	write(t, host+"/secret", "host secret", 0o600)
	write(t, ctr+host+"/secret", "container file", 0o600)
	for _, src := range []string{"/escape" + host + "/secret", "/climb/secret"} {
		if err := copyPath(ctr, src, "/", host+"/out", copyOptions{follow: true}); err != nil {
			t.Fatalf("cp from %s: %v", src, err)
		}
		if got := read(t, host+"/out"); got != "container file" {
			t.Errorf("cp from %s read %q", src, got)
		}
	}
	// a tar stream cannot climb out either, by name or through its own links
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	entries := []*tar.Header{
		{Name: "../../../../../.." + host + "/tar-pwned", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		{Name: "hop", Typeflag: tar.TypeSymlink, Linkname: host},
		{Name: "hop/tar-pwned2", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
	}
	for _, h := range entries {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			_, _ = tw.Write([]byte("x"))
		}
	}
	_ = tw.Close()
	err := copyFromTar(&buf, ctr, "/tmp-not-there/..", o)
	for _, p := range []string{host + "/tar-pwned", host + "/tar-pwned2"} {
		if _, statErr := os.Stat(p); statErr == nil {
			t.Errorf("tar extraction wrote %s on the host (err %v)", p, err)
		}
	}
	if _, statErr := os.Stat(ctr + host + "/tar-pwned"); statErr != nil {
		t.Errorf("climbing entry not kept inside: %v", statErr)
	}
	if err == nil {
		t.Error("an entry through an absolute link should fail")
	}
}

func TestLifecycleCpTarRoundTrip(t *testing.T) {
	ctr, host := cpWorld(t)
	var buf bytes.Buffer
	if err := copyToTar(&buf, ctr, "/app", copyOptions{}); err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	if got := strings.Join(names, " "); got != "app/ app/conf/ app/conf/a.conf app/hosts-link app/run.sh" {
		t.Errorf("tar entries: %s", got)
	}
	if err := copyFromTar(&buf, "/", host, copyOptions{}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(host + "/app/run.sh"); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("extracted run.sh: %v %v", fi, err)
	}
	if err := copyFromTar(strings.NewReader(""), "/", host+"/in.txt", copyOptions{}); err == nil {
		t.Error("a tar stream into a file must fail")
	}
}
