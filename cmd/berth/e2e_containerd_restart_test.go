package main

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testenv"
)

// TestE2EContainerdRestart kills containerd while a stack runs and a
// container dies meanwhile: once containerd is back, ps is right, the
// restart policy brings the container back (containerd's restart monitor,
// as berth's helper missed the exit), and down works.
func TestE2EContainerdRestart(t *testing.T) {
	if testenv.ContainerdAddress() != "/run/containerd/containerd.sock" {
		t.Skip("restarts only the default containerd")
	}
	e, before := startE2E(t)
	e.writeFile("compose.yaml", `
name: revive
services:
  always:
    image: berth-test/busybox:1
    command: `+idle+`
    restart: always
  never:
    image: berth-test/busybox:1
    command: `+idle+`
`)
	e.mustBerth("up", "-d")
	pids := e.tasks()
	alwaysPID := pids["revive-always-1"]

	if out, err := exec.Command("pkill", "-x", "containerd").CombinedOutput(); err != nil {
		t.Fatalf("stop containerd: %v %s", err, out)
	}
	t.Cleanup(func() { startContainerd(t) })
	waitFor(t, "containerd to stop", func() bool { return exec.Command("pgrep", "-x", "containerd").Run() != nil })
	// the container dies while containerd is away
	if err := syscall.Kill(int(alwaysPID), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	startContainerd(t)

	waitFor(t, "the always container to be running again", func() bool {
		p := e.tasks()["revive-always-1"]
		return p != 0 && p != alwaysPID
	})
	if p := e.tasks()["revive-never-1"]; p != pids["revive-never-1"] {
		t.Errorf("the other container changed: pid %d -> %d", pids["revive-never-1"], p)
	}
	for _, row := range psJSON(t, e) {
		if row.State != "running" {
			t.Errorf("ps after containerd's restart: %s is %s", row.Name, row.State)
		}
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

// startContainerd starts containerd the way make test does, when it is not
// running.
func startContainerd(t *testing.T) {
	t.Helper()
	if exec.Command("pgrep", "-x", "containerd").Run() == nil {
		return
	}
	script := filepath.Join(pkgDir, "..", "..", "scripts", "install-runtime.sh")
	if out, err := exec.Command("bash", script).CombinedOutput(); err != nil {
		t.Fatalf("start containerd: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for exec.Command("ctr", "version").Run() != nil {
		if time.Now().After(deadline) {
			t.Fatal("containerd did not come back")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
