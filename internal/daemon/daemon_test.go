package daemon

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/network/dns"
)

// The helper under test is this test binary, started again with BERTH_TEST_HELPER=1:
// it does what berth's hidden helper subcommand does, with the real DNS responder.
func TestMain(m *testing.M) {
	if os.Getenv("BERTH_TEST_HELPER") == "1" {
		os.Exit(helperMain())
	}
	if root := os.Getenv("BERTH_TEST_ENSURE"); root != "" {
		// A short-lived caller, like a berth command: Ensure, print, exit.
		pid, started, err := Ensure(context.Background(), root, helperArgv(root, 0))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(pid, started)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func helperMain() int {
	root := os.Getenv("BERTH_TEST_DATA_ROOT")
	idle, _ := time.ParseDuration(os.Getenv("BERTH_TEST_IDLE"))
	lease, err := Acquire(root)
	if err != nil {
		log.Print(err)
		return 1
	}
	defer lease.Release()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// No network is ever served here, so no query is forwarded; the upstream is a
	// loopback port all the same, never the host's resolvers.
	err = dns.Serve(ctx, dns.Config{DataRoot: root, IdleExit: idle, Upstreams: []string{"127.0.0.1:1"}, Logf: log.Printf, Lease: lease})
	if err != nil {
		log.Print(err)
		return 1
	}
	log.Print("helper exiting")
	return 0
}

// helperArgv runs this test binary as the helper; env(1) execs it, so the pid stays.
func helperArgv(root string, idle time.Duration) []string {
	return []string{"/usr/bin/env", "BERTH_TEST_HELPER=1", "BERTH_TEST_DATA_ROOT=" + root,
		"BERTH_TEST_IDLE=" + idle.String(), os.Args[0], "-test.run=^$"}
}

func gone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func logOf(t *testing.T, root string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "helper", "helper.log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func stopAtEnd(t *testing.T, root string) {
	t.Cleanup(func() {
		if err := Stop(root); err != nil {
			t.Error(err)
		}
	})
}

func TestEnsureStartsOneHelper(t *testing.T) {
	root := t.TempDir()
	stopAtEnd(t, root)
	const callers = 8
	pids := make([]int, callers)
	started := make([]bool, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	begin := time.Now()
	for i := range callers {
		wg.Go(func() { pids[i], started[i], errs[i] = Ensure(t.Context(), root, helperArgv(root, 0)) })
	}
	wg.Wait()
	t.Logf("%d concurrent Ensure calls with a cold start: %v", callers, time.Since(begin))
	starters := 0
	for i := range callers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if pids[i] != pids[0] {
			t.Errorf("Ensure calls returned pids %v: want one helper", pids)
		}
		if started[i] {
			starters++
		}
	}
	if starters != 1 {
		t.Errorf("%d calls say they started the helper, want 1", starters)
	}
	pid := pids[0]
	requireDetached(t, root, pid)

	begin = time.Now()
	again, startedAgain, err := Ensure(t.Context(), root, helperArgv(root, 0))
	if err != nil || again != pid || startedAgain {
		t.Errorf("Ensure with a helper running: %d %v %v, want %d false", again, startedAgain, err, pid)
	}
	t.Logf("Ensure with the helper running: %v", time.Since(begin))
	if got, running := Status(root); got != pid || !running {
		t.Errorf("Status = %d %v, want %d true", got, running, pid)
	}
	if _, err := Hold(root); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("another berth helper (pid %d)", pid)) {
		t.Errorf("Hold while the helper runs: %v", err)
	}

	if err := Stop(root); err != nil {
		t.Fatal(err)
	}
	if _, running := Status(root); running {
		t.Error("Status says running after Stop")
	}
	waitFor(t, "helper process gone after Stop", 2*time.Second, func() bool { return gone(pid) })
	if !strings.Contains(logOf(t, root), "helper exiting") {
		t.Errorf("helper did not exit by its SIGTERM path; log:\n%s", logOf(t, root))
	}
}

// requireDetached checks that the helper has a session of its own, so that the
// caller's terminal signals miss it, and no file of the caller's open.
func requireDetached(t *testing.T, root string, pid int) {
	t.Helper()
	if sid, err := unix.Getsid(pid); err != nil || sid != pid {
		t.Errorf("helper's session %d, %v: want its own (%d)", sid, err, pid)
	}
	log := filepath.Join(root, "helper", "helper.log")
	for fd, want := range map[string]string{"0": os.DevNull, "1": log, "2": log} {
		if got, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd)); err != nil || got != want {
			t.Errorf("helper's fd %s is %q, %v; want %s", fd, got, err, want)
		}
	}
}

func TestHelperOutlivesCallers(t *testing.T) {
	root := t.TempDir()
	stopAtEnd(t, root)
	// Three processes call Ensure at once and exit.
	outs := make([]string, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "BERTH_TEST_ENSURE="+root)
			out, err := cmd.Output()
			outs[i], errs[i] = strings.TrimSpace(string(out)), err
		})
	}
	wg.Wait()
	var pids []int
	starters := 0
	for i, out := range outs {
		var pid int
		var started bool
		if _, err := fmt.Sscan(out, &pid, &started); errs[i] != nil || err != nil {
			t.Fatalf("caller %d: %q, %v, %v", i, out, errs[i], err)
		}
		pids = append(pids, pid)
		if started {
			starters++
		}
	}
	if pids[0] != pids[1] || pids[1] != pids[2] || starters != 1 {
		t.Errorf("three callers got pids %v, %d of them started one; want one helper", pids, starters)
	}
	if pid, running := Status(root); pid != pids[0] || !running {
		t.Errorf("after its callers exited: Status = %d %v, want %d running", pid, running, pids[0])
	}
}

func TestEnsureRestartsKilledHelper(t *testing.T) {
	root := t.TempDir()
	stopAtEnd(t, root)
	first, _, err := Ensure(t.Context(), root, helperArgv(root, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "lock free after SIGKILL", 2*time.Second, func() bool { _, running := Status(root); return !running })
	second, started, err := Ensure(t.Context(), root, helperArgv(root, 0))
	if err != nil || !started || second == first {
		t.Fatalf("Ensure after SIGKILL: pid %d started %v, %v; want a new helper (old pid %d)", second, started, err, first)
	}
	if pid, running := Status(root); pid != second || !running {
		t.Errorf("Status = %d %v, want %d true", pid, running, second)
	}
}

func TestHelperIdleExit(t *testing.T) {
	root := t.TempDir()
	stopAtEnd(t, root)
	pid, _, err := Ensure(t.Context(), root, helperArgv(root, 300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "idle helper exits by itself", 3*time.Second, func() bool { _, running := Status(root); return !running })
	waitFor(t, "idle helper process gone", 2*time.Second, func() bool { return gone(pid) })
	if _, err := os.Stat(filepath.Join(root, "helper", "helper.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file left after a clean exit: %v", err)
	}
	if log := logOf(t, root); !strings.Contains(log, "no network") || !strings.Contains(log, "helper exiting") {
		t.Errorf("helper log:\n%s", log)
	}
}

func TestEnsureReportsHelperFailures(t *testing.T) {
	root := t.TempDir()
	begin := time.Now()
	_, _, err := Ensure(t.Context(), root, []string{"/bin/sh", "-c", "echo cannot serve >&2; exit 3"})
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "cannot serve") {
		t.Errorf("helper that exits: %v; want the exit and its log", err)
	}
	if time.Since(begin) > time.Second {
		t.Errorf("a helper that exits at once took %v to report", time.Since(begin))
	}

	// A helper that never reports ready is killed, with its whole session.
	pidFile := filepath.Join(root, "sleeper.pid")
	_, _, err = Ensure(t.Context(), root, []string{"/bin/sh", "-c", "echo $$ > " + pidFile + "; sleep 30 & wait"})
	if err == nil || !strings.Contains(err.Error(), "not ready after") {
		t.Errorf("helper that never gets ready: %v", err)
	}
	data, rerr := os.ReadFile(pidFile)
	var pid int
	if _, serr := fmt.Sscan(string(data), &pid); rerr != nil || serr != nil {
		t.Fatalf("sleeper pid: %v %v", rerr, serr)
	}
	if !gone(pid) {
		t.Errorf("helper %d that never got ready still runs", pid)
	}
	if _, _, err := Ensure(t.Context(), root, nil); err == nil {
		t.Error("Ensure with no command succeeded")
	}
}

func TestHoldIsExclusive(t *testing.T) {
	root := t.TempDir()
	if err := Stop(root); err != nil {
		t.Errorf("Stop without a helper: %v", err)
	}
	release, err := Hold(root)
	if err != nil {
		t.Fatal(err)
	}
	if pid, running := Status(root); pid != os.Getpid() || !running {
		t.Errorf("Status while held = %d %v", pid, running)
	}
	if _, err := Hold(root); err == nil {
		t.Error("a second Hold succeeded")
	}
	release()
	release() // idempotent
	if pid, running := Status(root); pid != 0 || running {
		t.Errorf("Status after release = %d %v", pid, running)
	}
	release, err = Hold(root)
	if err != nil {
		t.Fatalf("Hold after release: %v", err)
	}
	release()
}
