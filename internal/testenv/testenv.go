// Package testenv is the test-only kit of berth's end-to-end tests: it decides when such a
// test may run (root, a reachable containerd, the host tools it needs), builds OCI images on
// the fly from the host's busybox-static and from Go programs under programs/, writes them as
// OCI or docker archives, and runs a throwaway registry on 127.0.0.1. Nothing here needs the
// internet, and nothing contacts an address other than 127.0.0.1.
//
// Outside CI a missing prerequisite skips the test with a message; with CI=true it fails,
// because in CI an end-to-end test that silently skips proves nothing.
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// defaultContainerdAddress is where Debian's containerd listens unless told otherwise.
const defaultContainerdAddress = "/run/containerd/containerd.sock"

// InCI reports whether the tests run in CI (env CI=true, as GitHub Actions and most CI
// systems set it), where a missing prerequisite is a failure rather than a skip.
func InCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// ContainerdAddress is the socket e2e tests should use: $CONTAINERD_ADDRESS, the variable
// ctr and scripts/install-runtime.sh honour too, or containerd's default socket.
func ContainerdAddress() string {
	if addr := os.Getenv("CONTAINERD_ADDRESS"); addr != "" {
		return addr
	}
	return defaultContainerdAddress
}

// RequireRoot stops the test unless it runs as root: creating tasks, netns and iptables
// rules all need it.
func RequireRoot(t testing.TB) {
	t.Helper()
	if skipShort(t) {
		return
	}
	if os.Geteuid() != 0 {
		skipOrFail(t, "test needs root (euid is %d)", os.Geteuid())
	}
}

// RequireContainerd stops the test unless something accepts connections on containerd's
// socket at address (ContainerdAddress when empty). It only dials the socket: the
// containerd client belongs to internal/ctrd alone.
func RequireContainerd(t testing.TB, address string) {
	t.Helper()
	if skipShort(t) {
		return
	}
	if address == "" {
		address = ContainerdAddress()
	}
	conn, err := net.DialTimeout("unix", address, 2*time.Second)
	if err != nil {
		skipOrFail(t, "containerd does not answer on %s: %v (run scripts/install-runtime.sh as root)", address, err)
		return
	}
	conn.Close()
}

// requireExecutable stops the test unless path names an executable file; hint says which
// Debian package provides it.
func requireExecutable(t testing.TB, path, hint string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		skipOrFail(t, "test needs %s (%s; see scripts/install-runtime.sh)", path, hint)
	}
}

// requireCommand is requireExecutable for a command looked up in PATH.
func requireCommand(t testing.TB, command, hint string) string {
	t.Helper()
	path, err := exec.LookPath(command)
	if err != nil {
		skipOrFail(t, "test needs %s in PATH (%s; see scripts/install-runtime.sh)", command, hint)
		return ""
	}
	return path
}

// skipOrFail skips outside CI and fails in CI, so a CI run never passes by skipping.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("%s (CI=true: failing instead of skipping)", msg)
		return
	}
	t.Skip(msg)
}

// skipShort skips an end-to-end test under go test -short, even in CI: -short is the
// promise of a run that touches no daemon and needs no root.
func skipShort(t testing.TB) bool {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: skipped under -short")
		return true
	}
	return false
}
