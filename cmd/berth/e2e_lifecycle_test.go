package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/internal/testenv"
	"github.com/berth-dev/berth/service"
)

const lifecycleStack = `
name: lc
services:
  app:
    image: berth-test/busybox:1
    command: ` + idle + `
    depends_on: [db]
  db:
    image: berth-test/busybox:1
    command: ` + idle + `
`

// psAll returns `ps -a --format json` by container name.
func psAll(t *testing.T, e *e2e) map[string]psRow {
	t.Helper()
	r := e.mustBerth("ps", "-a", "--format", "json")
	out := map[string]psRow{}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if l == "" {
			continue
		}
		var row psRow
		if err := jsonUnmarshal(l, &row); err != nil {
			t.Fatalf("ps line %q: %v", l, err)
		}
		out[row.Name] = row
	}
	return out
}

// waitState polls ps until the container reaches state.
func waitState(t *testing.T, e *e2e, name, state string) psRow {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		row := psAll(t, e)[name]
		if row.State == state || time.Now().After(deadline) {
			if row.State != state {
				t.Fatalf("%s: state %q, want %q", name, row.State, state)
			}
			return row
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func labelOf(row psRow, key string) string {
	for _, kv := range strings.Split(row.Labels, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func TestE2ELifecycleStopStartKillPauseRm(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", lifecycleStack)
	e.mustBerth("up", "-d")
	netns := labelOf(psAll(t, e)["lc-app-1"], record.LabelNetNS)
	if netns == "" {
		t.Fatal("app has no network namespace label")
	}

	// stop keeps the containers, exited, dependents stopped first
	r := e.mustBerth("stop")
	assertBefore(t, progressLines(r.stderr), "Container lc-app-1 Stopped", "Container lc-db-1 Stopping")
	for _, name := range []string{"lc-app-1", "lc-db-1"} {
		if row := psAll(t, e)[name]; row.State != "exited" || !strings.HasPrefix(row.Status, "Exited (0)") {
			t.Errorf("%s after stop: %s / %s", name, row.State, row.Status)
		}
	}
	if n := len(e.containers()); n != 2 {
		t.Errorf("stop removed containers: %d left", n)
	}

	// start brings them back; restart gives a new process
	r = e.mustBerth("start")
	assertBefore(t, progressLines(r.stderr), "Container lc-db-1 Started", "Container lc-app-1 Starting")
	pids := e.tasks()
	if len(pids) != 2 {
		t.Fatalf("running after start: %v", pids)
	}
	r = e.mustBerth("restart", "-t", "1", "app")
	if !strings.Contains(r.stderr, "Container lc-app-1 Restarting") {
		t.Errorf("restart progress:\n%s", r.stderr)
	}
	after := e.tasks()
	if after["lc-app-1"] == 0 || after["lc-app-1"] == pids["lc-app-1"] || after["lc-db-1"] != pids["lc-db-1"] {
		t.Errorf("restart app: pids %v -> %v", pids, after)
	}

	// kill -s KILL: exit 137
	e.mustBerth("kill", "-s", "KILL", "app")
	if row := waitState(t, e, "lc-app-1", "exited"); row.ExitCode != 137 {
		t.Errorf("kill -s KILL: exit code %d", row.ExitCode)
	}
	if r := e.mustBerth("kill", "app"); !strings.Contains(r.stderr, "no container to kill") {
		t.Errorf("kill of a stopped service:\n%s", r.stderr)
	}

	// pause and unpause
	e.mustBerth("start", "app")
	e.mustBerth("pause", "app")
	if row := psAll(t, e)["lc-app-1"]; row.State != "paused" || !strings.Contains(row.Status, "(Paused)") {
		t.Errorf("after pause: %s / %s", row.State, row.Status)
	}
	e.mustBerth("unpause", "app")
	if row := psAll(t, e)["lc-app-1"]; row.State != "running" {
		t.Errorf("after unpause: %s", row.State)
	}

	// rm leaves running containers alone, and without -f asks: an empty
	// stdin declines
	if r := e.mustBerth("rm", "-f", "app"); !strings.Contains(r.stderr, "No stopped containers") {
		t.Errorf("rm of a running container:\n%s", r.stderr)
	}
	e.mustBerth("stop", "app")
	feedStdin(t, e.writeFile("no-answer", ""))
	if r := e.mustBerth("rm", "app"); !strings.Contains(r.stdout, "Going to remove lc-app-1") {
		t.Errorf("rm without -f did not ask:\n%s", r.stdout)
	}
	if _, ok := e.containers()["lc-app-1"]; !ok {
		t.Fatal("rm without an answer removed the container")
	}

	// rm -s -f stops and removes, releasing the network namespace
	e.mustBerth("start", "app")
	if r := e.mustBerth("rm", "-s", "-f", "app"); !strings.Contains(r.stdout, "Going to remove lc-app-1") {
		t.Errorf("rm -s -f output:\n%s", r.stdout)
	}
	if _, ok := e.containers()["lc-app-1"]; ok {
		t.Error("rm -s -f kept the container")
	}
	if _, err := os.Stat(netns); !os.IsNotExist(err) {
		t.Errorf("network namespace %s survived rm: %v", netns, err)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"start", "app"}, 1, `service "app" has no container to start`},
		{[]string{"stop", "nosuch"}, 1, "no such service: nosuch"},
		{[]string{"kill", "-s", "NOPE"}, 2, `invalid signal "NOPE"`},
		{[]string{"wait"}, 2, "wait needs at least one service"},
	} {
		if r := e.berth(tt.args...); r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("berth %s: exit %d, stderr %q; want %d and %q", strings.Join(tt.args, " "), r.code, r.stderr, tt.code, tt.want)
		}
	}

	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

const toolsStack = `
name: tools
services:
  app:
    image: berth-test/busybox:1
    command: ` + idle + `
  job:
    image: berth-test/busybox:1
    command: ["sh", "-c", "sleep 1; exit 3"]
`

func TestE2ELifecycleWaitTopCp(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", toolsStack)
	e.mustBerth("up", "-d")

	r := e.berth("wait", "job")
	if r.code != 3 || !strings.Contains(r.stdout, `container "tools-job-1" exited with status code 3`) {
		t.Errorf("wait: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}

	r = e.mustBerth("top", "app")
	lines := strings.Split(r.stdout, "\n")
	pid := strconv.Itoa(int(e.tasks()["tools-app-1"]))
	if len(lines) < 3 || lines[0] != "tools-app-1" || strings.Join(strings.Fields(lines[1]), " ") != "UID PID PPID C STIME TTY TIME CMD" {
		t.Fatalf("top:\n%s", r.stdout)
	}
	found := false
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) >= 8 && f[0] == "root" && f[1] == pid && strings.Contains(l, "sh -c trap 'exit 0' TERM") {
			found = true
		}
	}
	if !found {
		t.Errorf("top does not list PID %s with its command:\n%s", pid, r.stdout)
	}

	testCp(t, e)

	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

func testCp(t *testing.T, e *e2e) {
	// a file both ways
	e.writeFile("hello.txt", "hello berth\n")
	e.mustBerth("cp", "hello.txt", "app:/tmp/hello.txt")
	if out := e.mustBerth("exec", "-T", "app", "cat", "/tmp/hello.txt").stdout; out != "hello berth\n" {
		t.Errorf("in the container: %q", out)
	}
	e.mustBerth("cp", "app:/tmp/hello.txt", "back.txt")
	if b, err := os.ReadFile(filepath.Join(e.dir, "back.txt")); err != nil || string(b) != "hello berth\n" {
		t.Errorf("copied back: %q %v", b, err)
	}

	// a directory both ways, with its modes
	e.writeFile("tree/sub/deep.txt", "deep")
	if err := os.Chmod(filepath.Join(e.dir, "tree/sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	e.mustBerth("cp", "tree", "app:/tmp/")
	if out := e.mustBerth("exec", "-T", "app", "sh", "-c", "stat -c %a /tmp/tree/sub; cat /tmp/tree/sub/deep.txt").stdout; out != "750\ndeep" {
		t.Errorf("directory in the container: %q", out)
	}
	e.mustBerth("cp", "app:/tmp/tree", "tree-back")
	if fi, err := os.Stat(filepath.Join(e.dir, "tree-back/sub")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("directory copied back: %v %v", fi, err)
	}

	// "-" is a tar stream on stdout and stdin
	r := e.mustBerth("cp", "app:/tmp/hello.txt", "-")
	tr := tar.NewReader(strings.NewReader(r.stdout))
	if h, err := tr.Next(); err != nil || h.Name != "hello.txt" {
		t.Errorf("tar on stdout: %v %v", h, err)
	} else if b, _ := io.ReadAll(tr); string(b) != "hello berth\n" {
		t.Errorf("tar on stdout holds %q", b)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "from-tar.txt", Mode: 0o600, Size: 5, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("tared"))
	_ = tw.Close()
	feedStdin(t, e.writeFile("in.tar", buf.String()))
	e.mustBerth("cp", "-", "app:/tmp")
	if out := e.mustBerth("exec", "-T", "app", "cat", "/tmp/from-tar.txt").stdout; out != "tared" {
		t.Errorf("tar from stdin: %q", out)
	}

	// a symlink to the host's / leads to the container's /
	hostOnly := t.TempDir()
	e.mustBerth("exec", "-T", "app", "ln", "-s", "/", "/tmp/escape")
	if r := e.berth("cp", "hello.txt", "app:/tmp/escape"+hostOnly+"/pwned"); r.code != 1 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("cp through the escape link: exit %d, %s", r.code, r.stderr)
	}
	if _, err := os.Stat(hostOnly + "/pwned"); err == nil {
		t.Fatal("cp wrote to the host through a container symlink")
	}

	e.mustBerth("stop", "-t", "1", "app")
	if r := e.berth("cp", "hello.txt", "app:/tmp/"); r.code != 1 || !strings.Contains(r.stderr, "berth cp works through a running container") {
		t.Errorf("cp to a stopped container: exit %d, %s", r.code, r.stderr)
	}
}

// lockedBuffer is a bytes.Buffer for a writer and a reader in two
// goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestE2ELifecycleStatsEvents(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", "name: obs\nservices:\n  app:\n    image: berth-test/busybox:1\n    command: "+idle+"\n")
	e.mustBerth("up", "-d")

	r := e.mustBerth("stats", "--no-stream", "--format", "json")
	var row statsRow
	if err := jsonUnmarshal(strings.TrimSpace(r.stdout), &row); err != nil {
		t.Fatalf("stats json %q: %v", r.stdout, err)
	}
	if row.Name != "obs-app-1" || row.PIDs == "0" || !strings.HasSuffix(row.CPUPerc, "%") ||
		!strings.Contains(row.MemUsage, "iB / ") || !strings.Contains(row.NetIO, " / ") {
		t.Errorf("stats: %+v", row)
	}
	r = e.mustBerth("stats", "--no-stream", "app")
	if !strings.HasPrefix(r.stdout, "CONTAINER ID") || !strings.Contains(r.stdout, "obs-app-1") {
		t.Errorf("stats table:\n%s", r.stdout)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out lockedBuffer
	done := make(chan int, 1)
	go func() {
		args := []string{"berth", "--namespace", e.namespace, "--data-root", e.dataRoot, "--address", testenv.ContainerdAddress(),
			"-f", filepath.Join(e.dir, "compose.yaml"), "events", "--json"}
		done <- run(ctx, args, &out, io.Discard)
	}()
	// the subscription starts at some point: restart until it sees one
	var start, die map[string]any
	seen := func() bool { return start != nil && die != nil }
	for deadline := time.Now().Add(30 * time.Second); !seen() && time.Now().Before(deadline); {
		e.mustBerth("restart", "-t", "1", "app")
		for wait := time.Now().Add(2 * time.Second); !seen() && time.Now().Before(wait); time.Sleep(50 * time.Millisecond) {
			start, die = findEvent(t, out.String(), "start"), findEvent(t, out.String(), "die")
		}
	}
	cancel()
	if code := <-done; code != 130 {
		t.Errorf("events ended with exit %d, want 130 (interrupted)", code)
	}
	if start == nil {
		t.Fatalf("no start event:\n%s", out.String())
	}
	attrs, _ := start["attributes"].(map[string]any)
	if start["type"] != "container" || start["service"] != "app" || start["id"] != "obs-app-1" || attrs["name"] != "obs-app-1" {
		t.Errorf("start event: %v", start)
	}
	if _, err := time.Parse(time.RFC3339Nano, start["time"].(string)); err != nil {
		t.Errorf("start event time: %v", err)
	}
	if dieAttrs, _ := die["attributes"].(map[string]any); die == nil || dieAttrs["exitCode"] != "0" {
		t.Errorf("die event: %v", die)
	}

	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

func findEvent(t *testing.T, stream, action string) map[string]any {
	t.Helper()
	for _, l := range strings.Split(stream, "\n") {
		var ev map[string]any
		if l != "" && json.Unmarshal([]byte(l), &ev) == nil && ev["action"] == action {
			return ev
		}
	}
	return nil
}

// The tests below need neither root nor containerd.

func TestStatsFormat(t *testing.T) {
	s := service.ContainerStats{ID: "p-web-1", Name: "p-web-1", CPUPercent: 12.345, MemUsage: 1572864, MemLimit: 2087354368,
		MemPercent: 0.0754, NetRx: 1234, NetTx: 648, BlockRead: 0, BlockWrite: 4096000, PIDs: 3}
	row := newStatsRow(s)
	want := statsRow{BlockIO: "0B / 4.1MB", CPUPerc: "12.35%", Container: "p-web-1", ID: "p-web-1", MemPerc: "0.08%",
		MemUsage: "1.5MiB / 1.944GiB", Name: "p-web-1", NetIO: "1.23kB / 648B", PIDs: "3"}
	if row != want {
		t.Errorf("row:\n%+v\nwant\n%+v", row, want)
	}
	render := func(format string) string {
		tmpl, table, err := statsTemplate(format)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := printStats(&b, []service.ContainerStats{s}, tmpl, table); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	table := "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O         BLOCK I/O    PIDS\n" +
		"p-web-1        p-web-1   12.35%    1.5MiB / 1.944GiB   0.08%     1.23kB / 648B   0B / 4.1MB   3\n"
	if got := render("table"); got != table {
		t.Errorf("table:\n%q\nwant\n%q", got, table)
	}
	if got := render("json"); got != `{"BlockIO":"0B / 4.1MB","CPUPerc":"12.35%","Container":"p-web-1","ID":"p-web-1","MemPerc":"0.08%","MemUsage":"1.5MiB / 1.944GiB","Name":"p-web-1","NetIO":"1.23kB / 648B","PIDs":"3"}`+"\n" {
		t.Errorf("json: %s", got)
	}
	if got := render(`table {{.Name}}\t{{.PIDs}}`); got != "NAME      PIDS\np-web-1   3\n" {
		t.Errorf("custom table: %q", got)
	}
	if got := render("{{.Name}}: {{.CPUPerc}}"); got != "p-web-1: 12.35%\n" {
		t.Errorf("template: %q", got)
	}
	if _, _, err := statsTemplate("{{.Name"); err == nil {
		t.Error("a broken template is accepted")
	}
	for n, want := range map[uint64]string{0: "0B", 999: "999B", 1000: "1kB", 1234567: "1.23MB"} {
		if got := decimalSize(n); got != want {
			t.Errorf("decimalSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestEventsFormat(t *testing.T) {
	ev := service.ContainerEvent{Time: time.Date(2024, 3, 4, 5, 6, 7, 891011000, time.Local), Action: "die", ID: "p-web-1", Service: "web",
		Attributes: map[string]string{"name": "p-web-1", "image": "docker.io/library/busybox:1", "exitCode": "137"}}
	line, _ := formatEvent(ev, false)
	if want := "2024-03-04 05:06:07.891011 container die p-web-1 (name=p-web-1, image=docker.io/library/busybox:1, exitCode=137)"; line != want {
		t.Errorf("line:\n%s\nwant\n%s", line, want)
	}
	js, _ := formatEvent(ev, true)
	var got map[string]any
	if err := json.Unmarshal([]byte(js), &got); err != nil || got["action"] != "die" || got["type"] != "container" ||
		got["service"] != "web" || got["id"] != "p-web-1" || got["attributes"].(map[string]any)["exitCode"] != "137" {
		t.Errorf("json: %s (%v)", js, err)
	}
}

func TestCpArgs(t *testing.T) {
	tests := []struct {
		arg, svc, path string
		inContainer    bool
	}{
		{"web:/etc/hosts", "web", "/etc/hosts", true},
		{"web:relative", "web", "relative", true},
		{"./a:b", "", "./a:b", false},
		{"/abs:path", "", "/abs:path", false},
		{"-", "", "-", false},
		{"plain", "", "plain", false},
	}
	for _, tt := range tests {
		svc, p, in := splitCpArg(tt.arg)
		if svc != tt.svc || p != tt.path || in != tt.inContainer {
			t.Errorf("%q: %q %q %v", tt.arg, svc, p, in)
		}
	}
}
