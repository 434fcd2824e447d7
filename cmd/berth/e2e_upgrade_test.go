package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testenv"
)

// previousRelease is the last commit before berth recorded runtime state in state
// files instead of labels and hashed networks and volumes: what users upgrade from.
const previousRelease = "97bb2ad"

// previousBerth builds berth as it was at previousRelease from the repository's
// history, once per test run.
func previousBerth(t *testing.T) string {
	t.Helper()
	root := filepath.Join(pkgDir, "..", "..")
	if err := exec.Command("git", "-C", root, "cat-file", "-e", previousRelease+"^{commit}").Run(); err != nil {
		// a shallow clone has no history to build the previous release from: that is
		// the checkout, not berth, so the test says so and stops
		t.Skipf("upgrade test: commit %s is not in the clone's history (a shallow clone?): %v", previousRelease, err)
	}
	dir := t.TempDir()
	archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, previousRelease, dir)
	if out, err := archive.CombinedOutput(); err != nil {
		t.Fatalf("extract %s: %v\n%s", previousRelease, err, out)
	}
	bin := filepath.Join(dir, "berth-previous")
	build := exec.Command("go", "build", "-o", bin, "./cmd/berth")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build berth %s: %v\n%s", previousRelease, err, out)
	}
	return bin
}

const upgradeStack = `
name: upg
services:
  db:
    image: berth-test/busybox:1
    command: ` + idle + `
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
  web:
    image: berth-test/busybox:1
    command: ` + webCommand + `
    depends_on:
      db:
        condition: service_healthy
    ports: ["127.0.0.1::80"]
volumes:
  data: {}
`

// A project brought up by the previous berth is listed, kept by a no-op up and
// removed by down by this one: its labels, networks and volumes carry no config
// hash and its runtime state is in labels.
func TestE2EUpgradeFromPreviousRelease(t *testing.T) {
	e, before := startE2E(t)
	old := previousBerth(t)
	e.writeFile("compose.yaml", upgradeStack)
	cmd := exec.Command(old, "--namespace", e.namespace, "--data-root", e.dataRoot, "--address", testenv.ContainerdAddress(),
		"--progress", "plain", "up", "-d", "--wait")
	cmd.Dir = e.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("previous berth up: %v\n%s", err, out)
	}
	pids := e.tasks()

	var rows []psRow
	for _, line := range strings.Split(strings.TrimSpace(e.mustBerth("ps", "--format", "json").stdout), "\n") {
		var r psRow
		if err := jsonUnmarshal(line, &r); err != nil {
			t.Fatalf("ps json %q: %v", line, err)
		}
		rows = append(rows, r)
	}
	if len(rows) != 2 {
		t.Fatalf("ps lists %d containers, want 2: %+v", len(rows), rows)
	}
	for _, r := range rows {
		if r.State != "running" || !strings.HasPrefix(r.Status, "Up ") {
			t.Errorf("%s: state %q status %q, want running and Up …", r.Name, r.State, r.Status)
		}
	}
	if got := strings.TrimSpace(e.mustBerth("port", "web", "80").stdout); !strings.HasPrefix(got, "127.0.0.1:") {
		t.Errorf("port web 80 = %q", got)
	}

	r := e.mustBerth("up", "-d", "--wait")
	for name, pid := range pids {
		if e.tasks()[name] != pid {
			t.Errorf("the first up after the upgrade recreated %s:\n%s", name, r.stderr)
		}
	}
	e.mustBerth("stop", "web")
	e.mustBerth("start", "web")
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}
