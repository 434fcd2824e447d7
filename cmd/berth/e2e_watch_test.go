package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testenv"
)

const watchStack = `
name: watching
services:
  app:
    image: berth-test/busybox:1
    command: ` + idle + `
    user: nobody
    scale: 2
    develop:
      watch:
        - path: ./static
          action: sync
          target: /srv/static
          ignore: [drafts/]
        - path: ./conf
          action: sync+restart
          target: /etc/app
        - path: ./missing
          action: restart
`

// backgroundBerth runs berth in-process until the returned stop is called;
// stop returns the exit code.
func (e *e2e) backgroundBerth(out, errOut *lockedBuffer, args ...string) (stop func() int) {
	e.t.Helper()
	e.t.Chdir(e.dir)
	ctx, cancel := context.WithCancel(context.Background())
	full := append([]string{"berth", "--namespace", e.namespace, "--data-root", e.dataRoot, "--address", testenv.ContainerdAddress(), "--progress", "plain"}, args...)
	code := make(chan int, 1)
	go func() { code <- run(ctx, full, out, errOut) }()
	return func() int {
		cancel()
		return <-code
	}
}

// waitOutput waits until buf holds n lines containing want.
func waitOutput(t *testing.T, buf *lockedBuffer, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Count(buf.String(), want) >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %d× %q within 30s; output:\n%s", n, want, buf.String())
}

func TestE2EWatchSync(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", watchStack)
	e.writeFile("static/keep.txt", "kept")
	e.writeFile("conf/app.conf", "v1")
	e.mustBerth("up", "-d")

	var out, errOut lockedBuffer
	stop := e.backgroundBerth(&out, &errOut, "watch", "--no-up")
	waitOutput(t, &out, "Watching", 1)
	if !strings.Contains(errOut.String(), `service "app": develop.watch[2]: path `+filepath.Join(e.dir, "missing")+` does not exist`) {
		t.Errorf("no warning naming the missing path:\n%s", errOut.String())
	}

	// a file travels to every replica, owned by the container's user; the
	// ignored ones do not
	e.writeFile("static/index.html", "<h1>v1</h1>")
	e.writeFile("static/.git/HEAD", "ref")
	e.writeFile("static/.index.html.swp", "swap")
	e.writeFile("static/drafts/next.html", "draft")
	waitOutput(t, &out, `Syncing "app" after 1 change`, 1)
	for _, index := range []string{"1", "2"} {
		got := e.mustBerth("exec", "-T", "--index", index, "app", "sh", "-c",
			"stat -c '%U %a' /srv/static/index.html; cat /srv/static/index.html; echo; ls -a /srv/static").stdout
		if want := "nobody 644\n<h1>v1</h1>\n.\n..\nindex.html\n"; got != want {
			t.Errorf("replica %s:\n%s\nwant\n%s", index, got, want)
		}
	}

	// a deleted file disappears
	if err := os.Remove(filepath.Join(e.dir, "static/index.html")); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, &out, `Syncing "app" after 1 change`, 2)
	if r := e.berth("exec", "-T", "app", "test", "-e", "/srv/static/index.html"); r.code != 1 {
		t.Errorf("the deleted file is still in the container (test -e: %d)", r.code)
	}

	// 1,000 files written at once are one batch
	for i := range 1000 {
		e.writeFile(fmt.Sprintf("static/many/f%04d", i), "x")
	}
	waitOutput(t, &out, `Syncing "app" after 1001 changes`, 1) // the files and their directory
	time.Sleep(time.Second)
	if n := strings.Count(out.String(), `Syncing "app"`); n != 3 {
		t.Errorf("%d syncs; want the 1,000 files in one:\n%s", n, out.String())
	}
	if got := strings.TrimSpace(e.mustBerth("exec", "-T", "--index", "2", "app", "sh", "-c", "ls /srv/static/many | wc -l").stdout); got != "1000" {
		t.Errorf("%s files in the container; want 1000", got)
	}

	// sync+restart: the file is there and the containers restarted
	pids := e.tasks()
	e.writeFile("conf/app.conf", "v2")
	waitOutput(t, &out, `Restarted "app"`, 1)
	after := e.tasks()
	for _, name := range []string{"watching-app-1", "watching-app-2"} {
		if after[name] == 0 || after[name] == pids[name] {
			t.Errorf("%s: PID %d before, %d after; want a restart", name, pids[name], after[name])
		}
	}
	if got := e.mustBerth("exec", "-T", "app", "cat", "/etc/app/app.conf").stdout; got != "v2" {
		t.Errorf("/etc/app/app.conf holds %q; want v2", got)
	}

	if code := stop(); code != 0 {
		t.Errorf("watch exited %d after Ctrl-C; stderr:\n%s", code, errOut.String())
	}
	if strings.Contains(errOut.String(), "failed") {
		t.Errorf("failures reported:\n%s", errOut.String())
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

func TestE2EWatchRefusals(t *testing.T) {
	e, _ := startE2E(t)
	e.writeFile("compose.yaml", `
name: refusals
services:
  app:
    image: berth-test/busybox:1
    develop:
      watch:
        - path: .
          action: rebuild
`)
	for _, tt := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"up", "--watch", "-d"}, "--detach cannot be combined with --watch", 2},
		{[]string{"up", "--watch", "--wait"}, "--wait cannot be combined with --watch", 2},
		{[]string{"up", "--watch", "--no-build"}, "--no-build and --watch are incompatible", 2},
		{[]string{"watch"}, `service "app": develop.watch[0] (rebuild ` + e.dir + `): action rebuild needs a build: section in the service`, 1},
	} {
		r := e.berth(tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("berth %s: exit %d, stderr %q; want %d and %q", strings.Join(tt.args, " "), r.code, r.stderr, tt.code, tt.want)
		}
	}
	if got := e.containers(); len(got) != 0 {
		t.Errorf("refused commands left containers: %v", got)
	}
}

const rebuildStack = `
name: rbld
services:
  web:
    build: ./app
    develop:
      watch:
        - path: ./app
          action: rebuild
  dependent:
    image: berth-test/busybox:1
    command: ` + idle + `
    depends_on: [web]
  other:
    image: berth-test/busybox:1
    command: ` + idle + `
`

const rebuildDockerfile = `FROM berth-test/busybox:1
COPY msg.txt /msg.txt
CMD ["sh", "-c", "cat /msg.txt; trap 'exit 0' TERM; while true; do sleep 0.2; done"]
`

// TestE2EUpWatchRebuild: up --watch rebuilds a service after a change in its
// build context, recreates it alone when the image changed, follows the new
// container's output, keeps the old container when the build fails and
// retries on the next change.
func TestE2EUpWatchRebuild(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", rebuildStack)
	e.writeFile("app/Dockerfile", rebuildDockerfile)
	e.writeFile("app/msg.txt", "message v1\n")

	var out, errOut lockedBuffer
	stop := e.backgroundBerth(&out, &errOut, "up", "--watch")
	waitOutput(t, &out, "Watching", 1)
	waitOutput(t, &out, "message v1", 1)
	web, dependent, other := e.createdOf("web"), e.createdOf("dependent"), e.createdOf("other")

	e.writeFile("app/msg.txt", "message v2\n")
	waitOutput(t, &out, `Rebuilt "web": new image, service recreated`, 1)
	waitOutput(t, &out, "message v2", 1) // the new container's output is followed
	if e.createdOf("web") == web {
		t.Error("web was not recreated after its image changed")
	}
	if e.createdOf("other") != other || e.createdOf("dependent") != dependent {
		t.Error("a rebuild of web recreated another service")
	}
	web = e.createdOf("web")

	// a failed build keeps the running container; the next change retries
	e.writeFile("app/Dockerfile", "FROM berth-test/busybox:1\nRUN exit 3\n")
	waitOutput(t, &errOut, `rebuild of "web" failed`, 1)
	if e.createdOf("web") != web || e.tasks()["rbld-web-1"] == 0 {
		t.Error("a failed rebuild touched the running web container")
	}
	e.writeFile("app/Dockerfile", rebuildDockerfile)
	waitOutput(t, &out, `Rebuilt "web"`, 2)

	if code := stop(); code != 130 {
		t.Errorf("up --watch exited %d after Ctrl-C; want 130\nstderr:\n%s", code, errOut.String())
	}
	if running := e.tasks(); len(running) != 0 {
		t.Errorf("Ctrl-C left containers running: %v", running)
	}
	e.mustBerth("down", "--rmi", "local")
	e.mustBerth("builder", "prune", "-a")
	e.mustBerth("builder", "stop")
	e.assertNoLeakSoon(before)
}

// TestE2EUpWatchCtrlC: the first Ctrl-C of up --watch stops the project
// gracefully; it is not taken for the second one, which kills.
func TestE2EUpWatchCtrlC(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", watchStack)
	e.writeFile("static/keep.txt", "kept")
	e.writeFile("conf/app.conf", "v1")
	cmd := e.command("up", "--watch")
	var out, errOut lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, &out, "Watching", 1)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("up --watch exited %d (%v) after Ctrl-C; want 130", code, err)
	}
	if s := errOut.String(); !strings.Contains(s, "Stopped") || strings.Contains(s, "Kill") {
		t.Errorf("one Ctrl-C: want the containers stopped, not killed:\n%s", s)
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}
