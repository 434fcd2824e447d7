package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testenv"
)

// A shell as PID 1 ignores SIGTERM: trap it so stops are quick.
const idle = `["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]`

func (e *e2e) leakScope() testenv.LeakScope {
	return testenv.LeakScope{Namespace: e.namespace, DataRoot: e.dataRoot}
}

// startE2E loads the busybox test image and records the host state, which
// the test's end must restore.
func startE2E(t *testing.T, opts ...testenv.ImageOption) (*e2e, testenv.HostState) {
	e := newE2E(t)
	e.loadImage(testenv.BusyboxImage(t, opts...), "berth-test/busybox:1")
	return e, testenv.Snapshot(t, e.leakScope())
}

const gatedStack = `
name: gates
services:
  web:
    image: berth-test/busybox:1
    command: ` + idle + `
    depends_on:
      api:
        condition: service_started
  api:
    image: berth-test/busybox:1
    command: ` + idle + `
    environment:
      MODE: one
    depends_on:
      db:
        condition: service_healthy
      migrate:
        condition: service_completed_successfully
  db:
    image: berth-test/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 0.5; touch /tmp/ready; while true; do sleep 0.2; done"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 200ms
      retries: 20
  migrate:
    image: berth-test/busybox:1
    command: ["sh", "-c", "sleep 0.3; echo migrated"]
  cache:
    image: berth-test/busybox:1
    command: ` + idle + `
`

func TestE2EUpOrderIdempotenceRecreate(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", gatedStack)

	r := e.mustBerth("up", "-d")
	events := progressLines(r.stderr)
	// dependency gates: api starts after db is healthy and migrate exited 0
	assertBefore(t, events, "Service db Healthy", "Container gates-api-1 Starting")
	assertBefore(t, events, "Service migrate Exited", "Container gates-api-1 Starting")
	assertBefore(t, events, "Container gates-api-1 Started", "Container gates-web-1 Starting")
	// independent services are created concurrently: all creations begin
	// before the first one ends
	firstCreated := len(events)
	for i, l := range events {
		if strings.HasPrefix(l, "Container gates-") && strings.HasSuffix(l, "Created") {
			firstCreated = min(firstCreated, i)
		}
	}
	for _, svc := range []string{"web", "api", "db", "migrate", "cache"} {
		if i := indexOf(events, "Container gates-"+svc+"-1 Creating"); i < 0 || i > firstCreated {
			t.Errorf("creation of %s did not overlap the others:\n%s", svc, strings.Join(events, "\n"))
		}
	}
	pids := e.tasks()
	if len(pids) != 4 {
		t.Fatalf("running tasks: %v", pids)
	}

	r = e.mustBerth("up", "-d")
	if again := e.tasks(); !equalPIDs(pids, again) {
		t.Errorf("second up changed tasks: %v -> %v\n%s", pids, again, r.stderr)
	}
	if strings.Contains(r.stderr, "Creating") || strings.Contains(r.stderr, "Starting") {
		t.Errorf("second up did work:\n%s", r.stderr)
	}

	e.writeFile("compose.yaml", strings.Replace(gatedStack, "MODE: one", "MODE: two", 1))
	e.mustBerth("up", "-d")
	after := e.tasks()
	for id, pid := range pids {
		changed := after[id] != pid
		if changed != (id == "gates-api-1") {
			t.Errorf("%s: pid %d -> %d; only gates-api-1 may change", id, pid, after[id])
		}
	}
	if out := e.mustBerth("exec", "-T", "api", "sh", "-c", "echo $MODE").stdout; strings.TrimSpace(out) != "two" {
		t.Errorf("recreated api has MODE=%q", out)
	}

	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

func TestE2EVolumes(t *testing.T) {
	e, before := startE2E(t, testenv.WithFiles(map[string]testenv.File{
		"/seed/hello.txt": {Content: []byte("from the image"), Mode: 0o644},
	}))
	e.writeFile("compose.yaml", `
name: vols
services:
  app:
    image: berth-test/busybox:1
    command: `+idle+`
    volumes:
      - data:/data
      - seeded:/seed
      - ./host:/host
volumes:
  data:
  seeded:
`)
	e.mustBerth("up", "-d")
	e.mustBerth("exec", "-T", "app", "sh", "-c", "echo kept > /data/f; echo bound > /host/g")
	if out := e.mustBerth("exec", "-T", "app", "cat", "/seed/hello.txt").stdout; out != "from the image" {
		t.Errorf("seeded volume holds %q", out)
	}
	e.mustBerth("down")
	e.mustBerth("up", "-d")
	if out := e.mustBerth("exec", "-T", "app", "cat", "/data/f").stdout; out != "kept\n" {
		t.Errorf("named volume after down/up holds %q", out)
	}
	e.mustBerth("down", "-v")
	e.mustBerth("up", "-d")
	if r := e.berth("exec", "-T", "app", "cat", "/data/f"); r.code == 0 {
		t.Errorf("down -v kept the volume: %q", r.stdout)
	}
	e.mustBerth("down", "-v")
	// the bind mount's host directory stays: it is the user's
	e.t.Chdir(e.dir)
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

func TestE2EUpErrors(t *testing.T) {
	e, before := startE2E(t)
	tests := []struct {
		name, file string
		args       []string
		want       string
	}{
		{
			name: "bad project name",
			file: "services:\n  a:\n    image: berth-test/busybox:1\n",
			args: []string{"-p", "Bad_Name", "up", "-d"},
			want: `invalid project name "Bad_Name"`,
		},
		{
			name: "missing external volume",
			file: "name: ext\nservices:\n  a:\n    image: berth-test/busybox:1\n    command: " + idle + "\n    volumes: [shared:/s]\nvolumes:\n  shared:\n    external: true\n",
			args: []string{"up", "-d"},
			want: `external volume "shared" not found`,
		},
		{
			name: "unhealthy dependency",
			file: "name: sick\nservices:\n  a:\n    image: berth-test/busybox:1\n    command: " + idle + "\n    depends_on:\n      b:\n        condition: service_healthy\n  b:\n    image: berth-test/busybox:1\n    command: " + idle + "\n    healthcheck:\n      test: [\"CMD-SHELL\", \"echo not ready yet; exit 1\"]\n      interval: 100ms\n      retries: 2\n",
			args: []string{"up", "-d"},
			want: `service "b": container sick-b-1 is unhealthy: not ready yet`,
		},
		{
			name: "failing one-shot dependency",
			file: "name: oneshot\nservices:\n  a:\n    image: berth-test/busybox:1\n    command: " + idle + "\n    depends_on:\n      m:\n        condition: service_completed_successfully\n  m:\n    image: berth-test/busybox:1\n    command: [\"sh\", \"-c\", \"exit 3\"]\n",
			args: []string{"up", "-d"},
			want: `service "m" didn't complete successfully: exit 3`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.writeFile("compose.yaml", tt.file)
			r := e.berth(tt.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant it to contain %q", r.code, r.stderr, tt.want)
			}
			// down must succeed after a failed up, a health probe racing the removal
			// of its container's directory included (issue 18's loaded-machine race)
			if d := e.berth("down", "-v"); d.code != 0 || strings.Contains(d.stderr, "Error") {
				t.Errorf("down after the failed up: exit %d, stderr:\n%s", d.code, d.stderr)
			}
		})
	}
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

var progressLine = regexp.MustCompile(`^ (\S.*)$`)

// progressLines returns the plain progress lines without their leading space.
func progressLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if m := progressLine.FindStringSubmatch(l); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

func indexOf(lines []string, sub string) int {
	for i, l := range lines {
		if strings.Contains(l, sub) {
			return i
		}
	}
	return -1
}

func assertBefore(t *testing.T, lines []string, first, then string) {
	t.Helper()
	i, j := indexOf(lines, first), indexOf(lines, then)
	if i < 0 || j < 0 || i > j {
		t.Errorf("want %q before %q in:\n%s", first, then, strings.Join(lines, "\n"))
	}
}

func equalPIDs(a, b map[string]uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestE2EDryRun(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", gatedStack)
	r := e.mustBerth("--dry-run", "up", "-d")
	for _, want := range []string{"network:gates_default create (missing)", "container:gates-api-1 create (missing)", "service:db wait-healthy"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry run plan lacks %q:\n%s", want, r.stdout)
		}
	}
	if cs := e.containers(); len(cs) != 0 {
		t.Errorf("dry run created containers: %v", cs)
	}
	testenv.AssertNoLeak(t, e.leakScope(), before)
	e.mustBerth("up", "-d")
	e.writeFile("compose.yaml", strings.Replace(gatedStack, "MODE: one", "MODE: two", 1))
	r = e.mustBerth("--dry-run", "up", "-d")
	if !strings.Contains(r.stdout, "container:gates-api-1 recreate (config changed)") || strings.Contains(r.stdout, "gates-web-1 recreate") {
		t.Errorf("dry run after a change:\n%s", r.stdout)
	}
	r = e.mustBerth("--dry-run", "down")
	if !strings.Contains(r.stdout, "container:gates-web-1 remove") {
		t.Errorf("dry run of down:\n%s", r.stdout)
	}
	if len(e.containers()) != 5 {
		t.Errorf("dry run of down removed containers: %v", e.containers())
	}
	e.mustBerth("down", "-v")
}

func TestE2ESecretsAndConfigs(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("db_password.txt", "s3cret\n")
	e.writeFile("compose.yaml", `
name: sec
services:
  app:
    image: berth-test/busybox:1
    command: `+idle+`
    secrets:
      - db_password
      - source: token
        target: api-token
        uid: "1000"
        mode: 0400
    configs:
      - source: app_conf
        target: /etc/app.conf
secrets:
  db_password:
    file: ./db_password.txt
  token:
    environment: API_TOKEN
configs:
  app_conf:
    content: "level=debug"
`)
	t.Setenv("API_TOKEN", "tok-123")
	e.mustBerth("up", "-d")
	checks := map[string]string{
		"cat /run/secrets/db_password":             "s3cret",
		"cat /run/secrets/api-token":               "tok-123",
		"stat -c '%a %u' /run/secrets/api-token":   "400 1000",
		"stat -c '%a %u' /run/secrets/db_password": "444 0",
		"cat /etc/app.conf":                        "level=debug",
	}
	for cmd, want := range checks {
		out := e.mustBerth("exec", "-T", "app", "sh", "-c", cmd).stdout
		if strings.TrimSpace(out) != want {
			t.Errorf("%s: %q, want %q", cmd, out, want)
		}
	}
	if r := e.berth("exec", "-T", "app", "sh", "-c", "echo x > /run/secrets/db_password"); r.code == 0 {
		t.Error("a secret is writable")
	}
	// config shows where secrets come from, never their values
	if out := e.mustBerth("config").stdout; strings.Contains(out, "tok-123") || strings.Contains(out, "s3cret") {
		t.Errorf("config prints a secret's value:\n%s", out)
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}
