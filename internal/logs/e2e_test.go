package logs_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/testenv"
)

// maxLoggerPss is the memory budget of one berth-logger process (nerdctl's logger costs
// about 10 MiB PSS per container).
const maxLoggerPss = 4 << 10 // KiB

// buildLogger compiles cmd/berth-logger as it ships: static, stripped.
func buildLogger(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "berth-logger")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "github.com/berth-dev/berth/cmd/berth-logger")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build berth-logger: %v\n%s", err, out)
	}
	return bin
}

// shimArgv turns the logger's arguments into argv as containerd's shim does: through the
// query of the binary:// URI, then "key value" pairs in map order.
func shimArgv(args map[string]string) []string {
	q := url.Values{}
	for k, v := range args {
		q.Set(k, v)
	}
	parsed, _ := url.ParseQuery(q.Encode())
	var argv []string
	for k, vs := range parsed {
		argv = append(argv, k, vs[0])
	}
	return argv
}

// shimLogger runs berth-logger the way the runc shim v2 does.
type shimLogger struct {
	cmd            *exec.Cmd
	stdout, stderr *os.File // the container's ends
	exited         chan error
	output         bytes.Buffer // the logger's own stderr
}

func startLogger(t *testing.T, bin string, args map[string]string) *shimLogger {
	t.Helper()
	outR, outW := pipe(t)
	errR, errW := pipe(t)
	readyR, readyW := pipe(t)
	l := &shimLogger{stdout: outW, stderr: errW, exited: make(chan error, 1)}
	l.cmd = exec.Command(bin, shimArgv(args)...)
	l.cmd.Env = []string{"CONTAINER_ID=web-1", "CONTAINER_NAMESPACE=berth-test"}
	l.cmd.ExtraFiles = []*os.File{outR, errR, readyW} // fds 3, 4, 5
	l.cmd.Stderr = &l.output
	if err := l.cmd.Start(); err != nil {
		t.Fatalf("start berth-logger: %v", err)
	}
	go func() { l.exited <- l.cmd.Wait() }()
	t.Cleanup(func() {
		_ = l.cmd.Process.Kill()
		<-l.exited
	})
	for _, f := range []*os.File{outR, errR, readyW} {
		f.Close()
	}
	// The shim starts the task once the logger wrote its byte or closed the pipe.
	if err := readyR.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	ready, err := io.ReadAll(readyR)
	if err != nil {
		t.Fatalf("waiting for the ready pipe to close: %v (logger said %q)", err, l.output.String())
	}
	if !bytes.Equal(ready, []byte{1}) {
		t.Fatalf("ready pipe carried %q, want one byte", ready)
	}
	return l
}

func pipe(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func (l *shimLogger) write(t *testing.T, f *os.File, s string) {
	t.Helper()
	if _, err := f.WriteString(s); err != nil {
		t.Fatalf("write to the logger: %v", err)
	}
}

// stop sends SIGTERM, as the shim does on task delete, and waits for a clean exit.
func (l *shimLogger) stop(t *testing.T, within time.Duration) {
	t.Helper()
	// the logger may already have ended on its own, at the end of its input:
	// the shim's SIGTERM then finds no process, which is fine
	if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	select {
	case err := <-l.exited:
		l.exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("berth-logger exited with %v: %s", err, l.output.String())
		}
	case <-time.After(within):
		t.Fatalf("berth-logger still runs %v after SIGTERM", within)
	}
}

// waitEntries polls the log until it holds n entries.
func waitEntries(t *testing.T, path string, n int) []logs.Entry {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, err := logs.Read(path, logs.ReadOptions{Tail: -1})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) >= n || time.Now().After(deadline) {
			if len(entries) < n {
				t.Fatalf("log has %d entries after 10s, want %d: %q", len(entries), n, entries)
			}
			return entries
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLoggerStartedAsByTheShim(t *testing.T) {
	bin := buildLogger(t)
	path := filepath.Join(t.TempDir(), "logs", "web-1.log")
	start := time.Now()
	l := startLogger(t, bin, logs.LoggerArgs(path, logs.RotateOptions{}))
	long := strings.Repeat("0123456789", 4000) // 40 kB: stored as three fragments
	var want []string
	for i := range 20 {
		l.write(t, l.stdout, fmt.Sprintf("out %d\n", i))
		l.write(t, l.stderr, fmt.Sprintf("err %d\n", i))
		want = append(want, fmt.Sprintf("stdout:out %d", i), fmt.Sprintf("stderr:err %d", i))
	}
	l.write(t, l.stdout, long+"\n")
	want = append(want, "stdout:"+long)
	waitEntries(t, path, len(want))
	t.Logf("berth-logger with a container's output: %s", memory(t, l.cmd.Process.Pid))

	// What the shim does on task delete: close its ends, then SIGTERM. What the
	// container printed last, without a newline, must still be stored.
	l.write(t, l.stderr, "last words")
	l.stdout.Close()
	l.stderr.Close()
	l.stop(t, 5*time.Second)
	want = append(want, "stderr:last words")
	entries := waitEntries(t, path, len(want))
	end := time.Now()

	var got []string
	for _, e := range entries {
		got = append(got, e.Stream+":"+e.Line)
		if e.Time.Before(start) || e.Time.After(end) || e.Time.Location() != time.UTC {
			t.Errorf("entry %q has time %v, want UTC between %v and %v", e.Line, e.Time, start, end)
		}
	}
	// The streams are read concurrently: compare each stream's order.
	for _, stream := range []string{"stdout:", "stderr:"} {
		if g, w := ofStream(got, stream), ofStream(want, stream); !slices.Equal(g, w) {
			t.Errorf("%s entries = %.200q, want %.200q", stream, g, w)
		}
	}
	assertMode(t, path, 0o600)
	assertMode(t, filepath.Dir(path), 0o700|os.ModeDir)
}

func ofStream(lines []string, prefix string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func assertMode(t *testing.T, name string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("%s has mode %v, want %v", name, fi.Mode(), want)
	}
}

func TestLoggerRotatesAndStopsWhenPipesStayOpen(t *testing.T) {
	bin := buildLogger(t)
	path := filepath.Join(t.TempDir(), "web-1.log")
	l := startLogger(t, bin, map[string]string{logs.ArgPath: path, logs.ArgMaxSize: "4k", logs.ArgMaxFile: "2"})
	for i := range 300 {
		l.write(t, l.stdout, fmt.Sprintf("line %03d\n", i))
	}
	waitLine(t, path, "line 299")
	// A process that escaped the container may keep the pipes open: SIGTERM must still
	// end the logger, after its drain timeout.
	l.stop(t, 5*time.Second)
	var names []string
	for _, name := range []string{path, path + ".1", path + ".2"} {
		fi, err := os.Stat(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(name))
		if fi.Size() > 4000 {
			t.Errorf("%s has %d bytes, beyond max-size 4k", name, fi.Size())
		}
	}
	if !slices.Equal(names, []string{"web-1.log", "web-1.log.1"}) {
		t.Errorf("log files %q, want web-1.log and web-1.log.1", names)
	}
}

// waitLine polls the log until its last entry is want.
func waitLine(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, err := logs.Read(path, logs.ReadOptions{Tail: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 1 && entries[0].Line == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("last entry is %+v after 10s, want %q", entries, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// memory reads a process's proportional and resident set sizes from smaps_rollup, and
// fails the test when PSS is beyond the budget.
func memory(t *testing.T, pid int) string {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		t.Fatalf("memory of berth-logger: %v", err)
	}
	defer f.Close()
	kb := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[2] == "kB" {
			kb[strings.TrimSuffix(fields[0], ":")], _ = strconv.Atoi(fields[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("memory of berth-logger: %v", err)
	}
	if kb["Pss"] == 0 || kb["Pss"] > maxLoggerPss {
		t.Errorf("berth-logger (pid %d) uses %d KiB PSS, budget %d KiB", pid, kb["Pss"], maxLoggerPss)
	}
	return fmt.Sprintf("pid %d: Pss %d KiB (anon %d KiB, file %d KiB), Rss %d KiB, Private_Dirty %d KiB",
		pid, kb["Pss"], kb["Pss_Anon"], kb["Pss_File"], kb["Rss"], kb["Private_Dirty"])
}

// TestLoggerUnderContainerd runs a container whose output goes, through containerd's
// binary log driver, to berth-logger: the shim starts the logger, the lines arrive with
// their streams and times, the logger stays within its memory budget and ends with the
// task. Everything lives in a namespace of its own, removed at the end.
func TestLoggerUnderContainerd(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireContainerd(t, "")
	bin := buildLogger(t)
	ctx, client, ns := containerdNamespace(t)
	image := importBusybox(ctx, t, client)
	path := filepath.Join(t.TempDir(), "logs", "web-1.log")
	// "half " and "line" come in two writes a moment apart: one line all the same.
	script := `trap 'echo bye; exit 0' TERM; echo out-1; echo err-1 >&2; printf 'half '; sleep 0.2; echo line; sleep 3600 & wait`
	id := "web-1"
	task := startTask(ctx, t, client, image, id, script, cio.BinaryIO(bin, logs.LoggerArgs(path, logs.RotateOptions{})))
	start := time.Now()

	waitEntries(t, path, 3)
	pid := loggerPid(t, bin, id, ns)
	t.Logf("berth-logger under containerd: %s", memory(t, pid))

	exited, err := task.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Kill(ctx, syscall.SIGTERM); err != nil {
		t.Fatalf("kill task: %v", err)
	}
	if st := <-exited; st.ExitCode() != 0 {
		t.Fatalf("task exited with %d, want 0 from its TERM trap", st.ExitCode())
	}
	if _, err := task.Delete(ctx); err != nil {
		t.Fatalf("delete task: %v", err)
	}
	waitGone(t, pid) // the shim stops the logger on task delete

	entries := waitEntries(t, path, 4)
	var got []string
	for _, e := range entries {
		got = append(got, e.Stream+":"+e.Line)
		if e.Time.Before(start.Add(-time.Second)) || e.Time.After(time.Now()) {
			t.Errorf("entry %q has time %v, want one since the task started (%v)", e.Line, e.Time, start)
		}
	}
	want := []string{"stdout:out-1", "stderr:err-1", "stdout:half line", "stdout:bye"}
	for _, stream := range []string{"stdout:", "stderr:"} {
		if g, w := ofStream(got, stream), ofStream(want, stream); !slices.Equal(g, w) {
			t.Errorf("%s entries = %q, want %q", stream, g, w)
		}
	}
}

// containerdNamespace connects to containerd in a namespace of the test's own and removes
// the namespace when the test ends (after the cleanups registered later).
func containerdNamespace(t *testing.T) (context.Context, *containerd.Client, string) {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	ns := "berth-logs-" + hex.EncodeToString(b)
	client, err := containerd.New(testenv.ContainerdAddress())
	if err != nil {
		t.Fatalf("connect to containerd: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := cleanupContext(ns)
		defer cancel()
		if err := client.NamespaceService().Delete(ctx, ns); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("cleanup: delete namespace %s: %v", ns, err)
		}
		client.Close()
		// containerd 1.6 and runc leave the namespace's state directories behind, empty.
		for _, dir := range runtimeStateDirs {
			_ = os.Remove(filepath.Join(dir, ns))
		}
	})
	return namespaces.WithNamespace(t.Context(), ns), client, ns
}

// runtimeStateDirs hold a directory per namespace (Debian's containerd defaults).
var runtimeStateDirs = []string{
	"/run/containerd/runc",
	"/run/containerd/io.containerd.runtime.v2.task",
	"/var/lib/containerd/io.containerd.runtime.v2.task",
}

// cleanupContext outlives the test's context, which is cancelled before cleanups run.
func cleanupContext(ns string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	return namespaces.WithNamespace(ctx, ns), cancel
}

// importBusybox imports and unpacks testenv's busybox image; the cleanup deletes it and
// collects its content and snapshots at once.
func importBusybox(ctx context.Context, t *testing.T, client *containerd.Client) containerd.Image {
	t.Helper()
	archive := testenv.WriteOCIArchive(t, testenv.BusyboxImage(t), "berth-logs-test:1")
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	imgs, err := client.Import(ctx, f)
	if err != nil || len(imgs) != 1 {
		t.Fatalf("import busybox image: %v (%d images)", err, len(imgs))
	}
	ns, _ := namespaces.Namespace(ctx)
	t.Cleanup(func() {
		ctx, cancel := cleanupContext(ns)
		defer cancel()
		err := client.ImageService().Delete(ctx, imgs[0].Name, images.SynchronousDelete())
		if err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("cleanup: delete image: %v", err)
		}
	})
	image := containerd.NewImage(client, imgs[0])
	if err := image.Unpack(ctx, ""); err != nil {
		t.Fatalf("unpack busybox image: %v", err)
	}
	return image
}

// startTask creates container id running script with sh and starts its task with the
// given IO; the cleanup kills and deletes both, with the container's snapshot.
func startTask(ctx context.Context, t *testing.T, client *containerd.Client, image containerd.Image, id, script string, io cio.Creator) containerd.Task {
	t.Helper()
	ctr, err := client.NewContainer(ctx, id,
		containerd.WithNewSnapshot(id, image),
		containerd.WithNewSpec(oci.WithImageConfig(image), oci.WithProcessArgs("sh", "-c", script)))
	if err != nil {
		t.Fatalf("create container: %v", err)
	}
	ns, _ := namespaces.Namespace(ctx)
	t.Cleanup(func() {
		ctx, cancel := cleanupContext(ns)
		defer cancel()
		if task, err := ctr.Task(ctx, nil); err == nil {
			if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
				t.Errorf("cleanup: delete task: %v", err)
			}
		}
		if err := ctr.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("cleanup: delete container: %v", err)
		}
	})
	task, err := ctr.NewTask(ctx, io)
	if err != nil {
		t.Fatalf("create task: %v", err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("start task: %v", err)
	}
	return task
}

// loggerPid finds the berth-logger the shim started for container id, and checks that
// the shim is its parent.
func loggerPid(t *testing.T, bin, id, ns string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, dir := range dirs {
			argv, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
			env, _ := os.ReadFile(filepath.Join(dir, "environ"))
			if !bytes.HasPrefix(argv, []byte(bin+"\x00")) ||
				!slices.Contains(strings.Split(string(env), "\x00"), "CONTAINER_ID="+id) ||
				!slices.Contains(strings.Split(string(env), "\x00"), "CONTAINER_NAMESPACE="+ns) {
				continue
			}
			pid, _ := strconv.Atoi(filepath.Base(dir))
			if parent := parentCommand(pid); !strings.Contains(parent, "containerd-shim") {
				t.Errorf("berth-logger's parent is %q, want the containerd shim", parent)
			}
			return pid
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no berth-logger process for container %s in namespace %s", id, ns)
	return 0
}

func parentCommand(pid int) string {
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(status), "\n") {
		if ppid, ok := strings.CutPrefix(line, "PPid:"); ok {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%s/cmdline", strings.TrimSpace(ppid)))
			return strings.ReplaceAll(string(cmdline), "\x00", " ")
		}
	}
	return ""
}

// waitGone waits until process pid has exited.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil || bytes.Contains(status, []byte("State:\tZ")) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("berth-logger (pid %d) still runs after its task was deleted", pid)
}
