package main

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/testenv"
)

// tarFiles reads a tar archive into name → content (directories as "").
func tarFiles(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read archive: %v", err)
		}
		b, _ := io.ReadAll(tr)
		out[hdr.Name] = string(b)
	}
}

const volumesStack = `
name: vols
services:
  web:
    image: berth-test/busybox:1
    command: ["sh", "-c", "echo made > /made.txt; echo kept > /data/in-volume.txt; trap 'exit 0' TERM; while true; do sleep 0.2; done"]
    volumes: [data:/data]
  db:
    image: berth-test/busybox:1
    command: ` + idle + `
    volumes: [cache:/cache]
volumes:
  data: {}
  cache: {}
`

func TestE2EVolumesAndExport(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", volumesStack)
	e.mustBerth("up", "-d", "--wait")

	if r := e.mustBerth("volumes"); !strings.Contains(r.stdout, "DRIVER") || !strings.Contains(r.stdout, "vols_data") || !strings.Contains(r.stdout, "vols_cache") {
		t.Errorf("volumes:\n%s", r.stdout)
	}
	if r := e.mustBerth("volumes", "web", "-q"); r.stdout != "vols_data\n" {
		t.Errorf("volumes web -q: %q", r.stdout)
	}
	r := e.mustBerth("volumes", "--format", "json", "db")
	var row volumeSummary
	if err := json.Unmarshal([]byte(r.stdout), &row); err != nil || row.Name != "vols_cache" || row.Driver != "local" {
		t.Errorf("volumes --format json db: %v %q", err, r.stdout)
	}
	if r := e.berth("volumes", "nosuch"); r.code != 1 || !strings.Contains(r.stderr, "no such service: nosuch") {
		t.Errorf("volumes nosuch: exit %d %s", r.code, r.stderr)
	}

	// a running container's root file system, without its volume
	waitFor(t, "web to write its files", func() bool { return e.berth("exec", "-T", "web", "test", "-f", "/data/in-volume.txt").code == 0 })
	out := filepath.Join(e.dir, "web.tar")
	e.mustBerth("export", "web", "-o", out)
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	files := tarFiles(t, f)
	f.Close()
	if files["made.txt"] != "made\n" || files["bin/busybox"] == "" {
		t.Errorf("export of a running container lacks its files: made.txt=%q, %d entries", files["made.txt"], len(files))
	}
	if _, ok := files["data/in-volume.txt"]; ok {
		t.Error("export holds the volume's files")
	}

	// a stopped one, to stdout
	e.mustBerth("stop", "web")
	r = e.mustBerth("export", "web")
	if files := tarFiles(t, strings.NewReader(r.stdout)); files["made.txt"] != "made\n" {
		t.Errorf("export of a stopped container: made.txt=%q", files["made.txt"])
	}
	if r := e.berth("export", "--index", "2", "web"); r.code != 1 || !strings.Contains(r.stderr, "no container with index 2") {
		t.Errorf("export --index 2: exit %d %s", r.code, r.stderr)
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

const downStack = `
name: downs
services:
  db:
    image: berth-test/busybox:1
    command: ` + idle + `
  app:
    image: berth-test/busybox:1
    command: ` + idle + `
    depends_on: [db]
  other:
    image: berth-test/busybox:1
    command: ` + idle + `
`

// TestE2EDownServicesAndProjectNameFromEnv: down SERVICE takes the service
// and its dependents; COMPOSE_PROJECT_NAME alone names the project to take
// down where there is no Compose file, as -p does.
func TestE2EDownServicesAndProjectNameFromEnv(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", downStack)
	e.mustBerth("up", "-d")
	e.mustBerth("down", "-t", "0", "db")
	cs := e.containers()
	if _, ok := cs["downs-db-1"]; ok {
		t.Error("down db left db")
	}
	if _, ok := cs["downs-app-1"]; ok {
		t.Error("down db left app, which depends on db")
	}
	if cs["downs-other-1"] != "running" {
		t.Errorf("down db took other down too: %v", cs)
	}
	if r := e.berth("down", "nosuch"); r.code != 1 || !strings.Contains(r.stderr, "no such service: nosuch") {
		t.Errorf("down nosuch: exit %d %s", r.code, r.stderr)
	}

	// no Compose file here: the environment names the project
	t.Setenv("COMPOSE_PROJECT_NAME", "downs")
	dir := t.TempDir()
	t.Chdir(dir)
	var out strings.Builder
	args := []string{"berth", "--namespace", e.namespace, "--data-root", e.dataRoot, "--address", testenv.ContainerdAddress(), "--progress", "plain", "down", "-t", "0"}
	if code := run(t.Context(), args, &out, &out); code != 0 {
		t.Fatalf("COMPOSE_PROJECT_NAME=downs berth down: exit %d\n%s", code, out.String())
	}
	if cs := e.containers(); len(cs) != 0 {
		t.Errorf("containers left: %v", cs)
	}
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

const sayStack = `
name: say
services:
  say:
    image: berth-test/busybox:1
    command: ["sh", "-c", "echo hello; sleep 0.3"]
`

var timestamped = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT[0-9:.]+Z hello$`)

// TestE2EUpOutputOptions: an attached up's --no-log-prefix, --timestamps,
// --no-color and --ansi, and its first line.
func TestE2EUpOutputOptions(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", sayStack)
	r := e.mustBerth("up", "--no-log-prefix", "--timestamps", "--menu")
	if !strings.HasPrefix(r.stdout, "Attaching to say-1\n") {
		t.Errorf("attached up does not start with Docker Compose's line:\n%s", r.stdout)
	}
	if !timestamped.MatchString(r.stdout) || strings.Contains(r.stdout, "say-1  |") {
		t.Errorf("--no-log-prefix --timestamps:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "warning: berth has no navigation menu") {
		t.Errorf("--menu gave no warning:\n%s", r.stderr)
	}
	if r := e.mustBerth("--progress", "auto", "--ansi", "always", "up"); !strings.Contains(r.stdout, "\x1b[") || !strings.Contains(r.stdout, "hello") {
		t.Errorf("--ansi always: no colours:\n%q", r.stdout)
	}
	if r := e.mustBerth("--progress", "auto", "--ansi", "always", "up", "--no-color", "--menu=false"); strings.Contains(r.stdout, "\x1b[") || !strings.Contains(r.stdout, "say-1  | hello") || strings.Contains(r.stderr, "menu") {
		t.Errorf("--no-color:\n%q\n%s", r.stdout, r.stderr)
	}
	e.mustBerth("down")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

// TestE2EParallelReachesTheEngine: --parallel (or COMPOSE_PARALLEL_LIMIT)
// is the bound of the engine's operations (service's tests check the bound
// itself); the flag wins over the variable.
func TestE2EParallelReachesTheEngine(t *testing.T) {
	e := newE2E(t)
	for _, tc := range []struct {
		env  string
		args []string
		want int
	}{
		{"", nil, -1},
		{"", []string{"--parallel", "1"}, 1},
		{"3", nil, 3},
		{"3", []string{"--parallel", "2"}, 2},
	} {
		t.Setenv("COMPOSE_PARALLEL_LIMIT", tc.env)
		if tc.env == "" {
			os.Unsetenv("COMPOSE_PARALLEL_LIMIT")
		}
		app := newApp(io.Discard, io.Discard)
		got := 0
		replaceActions(app.Commands, func(c *cli.Context) error {
			eng, done, err := newEngine(c)
			if err != nil {
				return err
			}
			got = eng.Parallel
			done()
			return nil
		})
		args := append([]string{"berth", "--namespace", e.namespace, "--data-root", e.dataRoot, "--address", testenv.ContainerdAddress()}, tc.args...)
		if err := app.Run(append(args, "ps")); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("COMPOSE_PARALLEL_LIMIT=%q %v: engine's Parallel %d, want %d", tc.env, tc.args, got, tc.want)
		}
	}
}

const sickStack = `
name: sick
services:
  never:
    image: berth-test/busybox:1
    command: ` + idle + `
    healthcheck:
      test: ["CMD", "false"]
      interval: 200ms
      retries: 1000
  fine:
    image: berth-test/busybox:1
    command: ` + idle + `
    healthcheck:
      test: ["CMD", "true"]
      interval: 200ms
`

// TestE2EWaitTimeouts: up --wait and start --wait end with Docker
// Compose's sentence when the project is not healthy in time.
func TestE2EWaitTimeouts(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", sickStack)
	r := e.berth("up", "-d", "--wait", "--wait-timeout", "2")
	if r.code != 1 || !strings.Contains(r.stderr, "application not healthy after 2s") {
		t.Errorf("up --wait --wait-timeout 2: exit %d\n%s", r.code, r.stderr)
	}
	e.mustBerth("stop", "-t", "0")
	r = e.berth("start", "--wait", "--wait-timeout", "2")
	if r.code != 1 || !strings.Contains(r.stderr, "application not healthy after 2s") {
		t.Errorf("start --wait --wait-timeout 2: exit %d\n%s", r.code, r.stderr)
	}
	e.mustBerth("stop", "-t", "0", "fine")
	e.mustBerth("start", "--wait", "fine")
	if r := e.mustBerth("ps", "--format", "json", "fine"); !strings.Contains(r.stdout, `"Health":"healthy"`) {
		t.Errorf("start --wait fine returned before fine was healthy:\n%s", r.stdout)
	}
	e.mustBerth("down", "-t", "0")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

const runStack = `
name: runopts
services:
  db:
    image: berth-test/busybox:1
    command: ` + idle + `
  tests:
    image: berth-test/busybox:1
    depends_on: [db]
  tool:
    image: berth-test/busybox:1
    profiles: [tools]
  absent:
    image: berth-test/absent:1
`

// capEff reads the effective capability set a command printed.
func capEff(t *testing.T, out string) uint64 {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no CapEff in %q", out)
	return 0
}

const (
	capNetRaw   = 1 << 13
	capSysAdmin = 1 << 21
)

// TestE2ERunOptions: run's --cap-add, --cap-drop, --env-from-file, -e KEY,
// --pull never, --quiet, --remove-orphans, and a disabled profile's service.
func TestE2ERunOptions(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", runStack)
	e.writeFile("vars.env", "FROM_FILE=file\nBOTH=file\n")
	status := []string{"run", "--rm", "-T"}
	caps := capEff(t, e.mustBerth(append(status, "tests", "grep", "CapEff", "/proc/self/status")...).stdout)
	if caps&capNetRaw == 0 || caps&capSysAdmin != 0 {
		t.Fatalf("default capabilities %x: want NET_RAW and not SYS_ADMIN", caps)
	}
	caps = capEff(t, e.mustBerth(append(status, "--cap-add", "SYS_ADMIN", "--cap-drop", "NET_RAW", "tests", "grep", "CapEff", "/proc/self/status")...).stdout)
	if caps&capNetRaw != 0 || caps&capSysAdmin == 0 {
		t.Errorf("--cap-add SYS_ADMIN --cap-drop NET_RAW: capabilities %x", caps)
	}

	t.Setenv("PASSED", "through")
	r := e.mustBerth(append(status, "--env-from-file", "vars.env", "-e", "BOTH=flag", "-e", "PASSED", "-e", "UNSET_HERE", "tests",
		"sh", "-c", `echo "$FROM_FILE $BOTH $PASSED ${UNSET_HERE-unset}"`)...)
	if strings.TrimSpace(r.stdout) != "file flag through unset" {
		t.Errorf("environment: %q", r.stdout)
	}

	if r := e.berth(append(status, "--pull", "never", "absent", "true")...); r.code != 1 || !strings.Contains(r.stderr, "--pull never") {
		t.Errorf("run --pull never of a missing image: exit %d %s", r.code, r.stderr)
	}
	if r := e.mustBerth(append(status, "-q", "tests", "true")...); strings.Contains(r.stderr, "Container") {
		t.Errorf("run -q printed progress:\n%s", r.stderr)
	}
	if r := e.mustBerth(append(status, "tool", "echo", "from a profile")...); !strings.Contains(r.stdout, "from a profile") {
		t.Errorf("run of a disabled profile's service: %q", r.stdout)
	}

	// an orphan: a service the file no longer has
	e.writeFile("compose.yaml", runStack+"  gone:\n    image: berth-test/busybox:1\n    command: "+idle+"\n")
	e.mustBerth("up", "-d", "gone")
	e.writeFile("compose.yaml", runStack)
	e.mustBerth(append(status, "--remove-orphans", "tests", "true")...)
	if _, ok := e.containers()["runopts-gone-1"]; ok {
		t.Error("run --remove-orphans left the orphan")
	}
	e.mustBerth("down", "-t", "0")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

// TestE2EExecOptions: exec --privileged has every capability; -e KEY
// passes the caller's KEY; ps --no-trunc and --orphans=false; ls --filter;
// events --until.
func TestE2EExecPsLsEventsOptions(t *testing.T) {
	e, before := startE2E(t)
	long := `["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done # a long command line"]`
	e.writeFile("compose.yaml", "name: opts\nservices:\n  web:\n    image: berth-test/busybox:1\n    command: "+long+"\n  extra:\n    image: berth-test/busybox:1\n    command: "+idle+"\n")
	e.mustBerth("up", "-d")

	plain := capEff(t, e.mustBerth("exec", "-T", "web", "grep", "CapEff", "/proc/self/status").stdout)
	priv := capEff(t, e.mustBerth("exec", "-T", "--privileged", "web", "grep", "CapEff", "/proc/self/status").stdout)
	if priv&capSysAdmin == 0 || priv&plain != plain || priv == plain {
		t.Errorf("exec --privileged: capabilities %x, without: %x", priv, plain)
	}
	t.Setenv("PASSED", "through")
	if r := e.mustBerth("exec", "-T", "-e", "PASSED", "web", "sh", "-c", "echo $PASSED"); strings.TrimSpace(r.stdout) != "through" {
		t.Errorf("exec -e PASSED: %q", r.stdout)
	}

	// events until a time to come: a stop in between is seen, then it ends
	until := time.Now().Add(4 * time.Second).UTC().Format(time.RFC3339Nano)
	events := e.command("events", "--json", "--until", until)
	var stdout, stderr strings.Builder
	events.Stdout, events.Stderr = &stdout, &stderr
	if err := events.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- events.Wait() }()
	time.Sleep(time.Second)
	e.mustBerth("restart", "-t", "1", "extra")
	select {
	case err := <-done:
		if err != nil || !strings.Contains(stdout.String(), `"action":"die"`) || !strings.Contains(stdout.String(), `"action":"start"`) {
			t.Errorf("events --until: %v\n%s%s", err, stdout.String(), stderr.String())
		}
	case <-time.After(20 * time.Second):
		_ = events.Process.Kill()
		t.Fatal("events --until did not end")
	}
	if r := e.mustBerth("ps"); strings.Contains(r.stdout, "a long command line") {
		t.Errorf("ps did not truncate the command:\n%s", r.stdout)
	}
	if r := e.mustBerth("ps", "--no-trunc"); !strings.Contains(r.stdout, "a long command line") {
		t.Errorf("ps --no-trunc truncated the command:\n%s", r.stdout)
	}
	e.writeFile("compose.yaml", "name: opts\nservices:\n  web:\n    image: berth-test/busybox:1\n    command: "+long+"\n")
	if r := e.mustBerth("ps", "--services"); r.stdout != "extra\nweb\n" {
		t.Errorf("ps --services: %q\n%s", r.stdout, e.mustBerth("ps", "-a").stdout)
	}
	if r := e.mustBerth("ps", "--services", "--orphans=false"); r.stdout != "web\n" {
		t.Errorf("ps --services --orphans=false: %q", r.stdout)
	}

	if r := e.mustBerth("ls", "--filter", "name=opts"); !strings.Contains(r.stdout, "opts") {
		t.Errorf("ls --filter name=opts:\n%s", r.stdout)
	}
	if r := e.mustBerth("ls", "--filter", "name=^nope"); strings.Contains(r.stdout, "opts") {
		t.Errorf("ls --filter name=^nope:\n%s", r.stdout)
	}
	if r := e.berth("ls", "--filter", "status=running"); r.code != 2 {
		t.Errorf("ls --filter status=running: exit %d", r.code)
	}

	e.mustBerth("down", "-t", "0", "--remove-orphans")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

// TestE2EPullOptions: pull names only the services given unless
// --include-deps; --policy missing pulls only what is not there; up
// --quiet-pull pulls without a line about it.
func TestE2EPullOptions(t *testing.T) {
	e := newE2E(t)
	reg := testenv.StartRegistry(t)
	web := reg.Push(t, testenv.BusyboxImage(t, testenv.WithEnv("ROLE=web")), "demo/web:1")
	db := reg.Push(t, testenv.BusyboxImage(t, testenv.WithEnv("ROLE=db")), "demo/db:1")
	e.writeFile("compose.yaml", "name: pulls\nservices:\n  web:\n    image: "+web+"\n    command: "+idle+"\n    depends_on: [db]\n  db:\n    image: "+db+"\n    command: "+idle+"\n")

	r := e.mustBerth("pull", "web")
	if !strings.Contains(r.stderr, "demo/web:1 Pulled") || strings.Contains(r.stderr, "demo/db") {
		t.Errorf("pull web:\n%s", r.stderr)
	}
	r = e.mustBerth("pull", "--policy", "missing", "--include-deps", "web")
	if !strings.Contains(r.stderr, "demo/db:1 Pulled") || strings.Contains(r.stderr, "demo/web") {
		t.Errorf("pull --policy missing --include-deps web:\n%s", r.stderr)
	}
	if r := e.berth("pull", "--policy", "sometimes"); r.code != 2 {
		t.Errorf("pull --policy sometimes: exit %d", r.code)
	}

	// a fresh namespace has neither image: up pulls both, silently
	// (newE2E again would wait for the host lock this test holds)
	e2 := &e2e{t: t, namespace: e.namespace + "-fresh", dataRoot: t.TempDir(), dir: t.TempDir()}
	t.Cleanup(e2.cleanup)
	e2.writeFile("compose.yaml", "name: pulls\nservices:\n  web:\n    image: "+web+"\n    command: "+idle+"\n")
	r = e2.mustBerth("up", "-d", "--quiet-pull")
	if strings.Contains(r.stderr, "Pull") || strings.Contains(r.stderr, "Image ") || !strings.Contains(r.stderr, "Container pulls-web-1 Started") {
		t.Errorf("up --quiet-pull:\n%s", r.stderr)
	}
	e2.mustBerth("down", "-t", "0")
}

const quietBuildStack = `
name: qb
services:
  app:
    build: ./app
    depends_on:
      dep: {condition: service_completed_successfully}
  dep:
    build: ./app
`

// TestE2EQuietBuildAndRunBuild: up --quiet-build builds without BuildKit's
// output; run --build rebuilds an image that is already there; build
// --with-dependencies builds the dependencies' images too.
func TestE2EQuietBuildAndRunBuild(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", quietBuildStack)
	e.writeFile("app/Dockerfile", "FROM berth-test/busybox:1\nCOPY msg.txt /msg.txt\nCMD [\"cat\", \"/msg.txt\"]\n")
	e.writeFile("app/msg.txt", "v1\n")
	r := e.mustBerth("up", "-d", "--quiet-build")
	if strings.Contains(r.stderr, "COPY") || strings.Contains(r.stderr, "naming to") || !strings.Contains(r.stderr, "Container qb-app-1") {
		t.Errorf("up --quiet-build shows the build:\n%s", r.stderr)
	}
	e.writeFile("app/msg.txt", "v2\n")
	if r := e.mustBerth("run", "--rm", "-T", "app"); strings.TrimSpace(r.stdout) != "v1" {
		t.Errorf("run without --build rebuilt: %q", r.stdout)
	}
	r = e.mustBerth("run", "--rm", "-T", "--build", "--quiet-build", "app")
	if strings.TrimSpace(r.stdout) != "v2" || strings.Contains(r.stderr, "COPY") {
		t.Errorf("run --build --quiet-build: %q\n%s", r.stdout, r.stderr)
	}
	e.mustBerth("down", "--rmi", "local")
	e.mustBerth("build", "--quiet", "app")
	if _, ok := e.imageOf("qb-dep"); ok {
		t.Error("build app built dep too")
	}
	e.mustBerth("build", "--quiet", "--with-dependencies", "app")
	if _, ok := e.imageOf("qb-dep"); !ok {
		t.Error("build --with-dependencies app did not build dep")
	}
	e.mustBerth("down", "--rmi", "local")
	e.mustBerth("builder", "prune", "-a")
	e.mustBerth("builder", "stop")
	e.assertNoLeakSoon(before)
}

// TestE2ECompatibilityNames: --compatibility names containers as Docker
// Compose v1 did, and later commands find them by label whatever their name.
func TestE2ECompatibilityNames(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", "name: compat\nservices:\n  web:\n    image: berth-test/busybox:1\n    command: "+idle+"\n")
	e.mustBerth("--compatibility", "up", "-d")
	if st := e.containers()["compat_web_1"]; st != "running" {
		t.Errorf("--compatibility up: containers %v", e.containers())
	}
	if r := e.mustBerth("ps", "-q"); strings.TrimSpace(r.stdout) != "compat_web_1" {
		t.Errorf("ps -q: %q", r.stdout)
	}
	e.mustBerth("down", "-t", "0")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}
