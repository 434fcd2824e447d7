// Package build builds images with BuildKit: it finds or starts a buildkitd (its
// containerd worker on berth's containerd address and namespace, so built images land
// where berth runs them), solves Dockerfile builds through the dockerfile.v0 frontend
// built into buildkitd, renders BuildKit's status stream, and prunes the build cache.
//
// It knows nothing of Compose: callers hand it Specs.
package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofrs/flock"
	"github.com/moby/buildkit/client"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// Version is the buildkitd release berth is tested with and its set-up script builds.
const Version = "v0.34.2"

const (
	readyTimeout = 15 * time.Second
	probeTimeout = 2 * time.Second
	stopTimeout  = 10 * time.Second
	pollEvery    = 20 * time.Millisecond
	maxSockPath  = 100 // sun_path is 108 bytes
)

// Daemon says where berth's buildkitd is, or where to start one.
type Daemon struct {
	// Address of a buildkitd to use as it is (--buildkit-address, BUILDKIT_HOST).
	// Empty: berth's own, started on demand under Root.
	Address string
	// Root is berth's own buildkitd's state directory (DataRoot/<ns>/buildkit).
	Root string
	// Containerd and Namespace are what the containerd worker talks to.
	Containerd string
	Namespace  string
	// Binary is buildkitd's path; empty looks for buildkitd beside the berth
	// executable, then in PATH.
	Binary string
	// GC limits of the worker's build cache; zero values take DefaultGC.
	GC GCLimits
}

// GCLimits bound BuildKit's cache. Its own defaults are sized from the disk (tens of
// GB on a big disk), too much for a tool that is not the machine's only user.
type GCLimits struct {
	ReservedSpace string // kept whatever the pressure, e.g. "512MB"
	MaxUsedSpace  string // never more than this, e.g. "4GB"
	MinFreeSpace  string // prune while the disk has less free, e.g. "10%"
	KeepDuration  string // records older than this go first, e.g. "168h"
}

// DefaultGC is what berth's own buildkitd keeps.
var DefaultGC = GCLimits{ReservedSpace: "512MB", MaxUsedSpace: "4GB", MinFreeSpace: "10%", KeepDuration: "168h"}

// Own reports whether the daemon is berth's own (started on demand).
func (d Daemon) Own() bool { return d.Address == "" }

func (d Daemon) socket() string {
	p := filepath.Join(d.Root, "buildkitd.sock")
	if len(p) <= maxSockPath {
		return p
	}
	sum := sha256.Sum256([]byte(d.Root))
	return filepath.Join("/run/berth", "buildkit-"+hex.EncodeToString(sum[:6])+".sock")
}

func (d Daemon) address() string {
	if !d.Own() {
		return d.Address
	}
	return "unix://" + d.socket()
}

func (d Daemon) pidFile() string { return filepath.Join(d.Root, "buildkitd.pid") }
func (d Daemon) logFile() string { return filepath.Join(d.Root, "buildkitd.log") }

// Connect returns a client of a buildkitd that answers: the given address as it is, or
// berth's own, started when it does not run.
func (d Daemon) Connect(ctx context.Context) (*client.Client, error) {
	if !d.Own() {
		c, err := dial(ctx, d.Address)
		if err != nil {
			return nil, fmt.Errorf("buildkitd at %s does not answer: %w (start it, or unset BUILDKIT_HOST and --buildkit-address to let berth start its own)", d.Address, err)
		}
		return c, nil
	}
	if c, err := dial(ctx, d.address()); err == nil {
		return c, nil
	}
	if err := d.start(ctx); err != nil {
		return nil, err
	}
	return dial(ctx, d.address())
}

// dial connects and asks for the daemon's info, so that a socket nobody serves fails
// here rather than in the middle of a build.
func dial(ctx context.Context, addr string) (*client.Client, error) {
	if path, ok := strings.CutPrefix(addr, "unix://"); ok {
		if _, err := os.Stat(path); err != nil {
			return nil, err
		}
	}
	c, err := client.New(ctx, addr)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if _, err := c.Info(pctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// start starts berth's own buildkitd, detached (it serves later commands too), unless
// a concurrent berth just did.
func (d Daemon) start(ctx context.Context) error {
	if err := os.MkdirAll(d.Root, 0o700); err != nil {
		return fmt.Errorf("start buildkitd: %w", err)
	}
	fl := flock.New(filepath.Join(d.Root, "start.lock"))
	if ok, err := fl.TryLockContext(ctx, pollEvery); err != nil || !ok {
		return fmt.Errorf("start buildkitd: lock: %w", errors.Join(err, ctx.Err()))
	}
	defer func() { _ = fl.Unlock() }()
	if c, err := dial(ctx, d.address()); err == nil {
		c.Close()
		return nil
	}
	bin, err := d.binary()
	if err != nil {
		return err
	}
	d.killStale()
	config := filepath.Join(d.Root, "buildkitd.toml")
	if err := atomicfile.WriteFile(config, []byte(d.config()), 0o600); err != nil {
		return fmt.Errorf("start buildkitd: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(d.socket()), 0o700); err != nil {
		return fmt.Errorf("start buildkitd: %w", err)
	}
	_ = os.Remove(d.socket())
	logf, err := os.OpenFile(d.logFile(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("start buildkitd: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--config", config)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start buildkitd %s: %w", bin, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := atomicfile.WriteFile(d.pidFile(), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		_ = cmd.Process.Kill()
		return fmt.Errorf("start buildkitd: %w", err)
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		if c, err := dial(ctx, d.address()); err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("start buildkitd %s: it exited: %v%s", bin, err, d.logTail())
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return fmt.Errorf("start buildkitd: %w", ctx.Err())
		case <-time.After(pollEvery):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return fmt.Errorf("start buildkitd %s: not ready after %v%s", bin, readyTimeout, d.logTail())
		}
	}
}

// ErrNoBuildkitd says buildkitd is not installed.
var ErrNoBuildkitd = errors.New("buildkitd not found")

func (d Daemon) binary() (string, error) {
	if d.Binary != "" {
		if _, err := os.Stat(d.Binary); err != nil {
			return "", fmt.Errorf("%w: %s: %v: run 'make runtime' (scripts/install-runtime.sh builds and installs buildkitd %s), or point BUILDKIT_HOST at a running buildkitd", ErrNoBuildkitd, d.Binary, err, Version)
		}
		return d.Binary, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "buildkitd")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("buildkitd"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%w: building images needs BuildKit's buildkitd %s: run 'make runtime' (scripts/install-runtime.sh builds and installs it), or point BUILDKIT_HOST at a running buildkitd", ErrNoBuildkitd, Version)
}

// Running returns the pid of berth's own buildkitd, 0 when none runs.
func (d Daemon) Running() int {
	data, err := os.ReadFile(d.pidFile())
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 || !isBuildkitd(pid, d.Root) {
		return 0
	}
	return pid
}

// isBuildkitd guards against a recycled pid: the process must be a buildkitd whose
// config lies in root.
func isBuildkitd(pid int, root string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) == 0 || filepath.Base(args[0]) != "buildkitd" {
		return false
	}
	return slices.Contains(args, filepath.Join(root, "buildkitd.toml"))
}

// killStale stops a buildkitd of this root that no longer answers.
func (d Daemon) killStale() {
	if pid := d.Running(); pid > 0 {
		_ = stopPID(pid, d.Root)
	}
}

// Stop stops berth's own buildkitd (SIGTERM, then SIGKILL after 10 s). None running
// is success; a daemon berth did not start is left alone.
func (d Daemon) Stop() error {
	if !d.Own() {
		return nil
	}
	pid := d.Running()
	if pid == 0 {
		return nil
	}
	if err := stopPID(pid, d.Root); err != nil {
		return err
	}
	_ = os.Remove(d.pidFile())
	_ = os.Remove(d.socket())
	return nil
}

func stopPID(pid int, root string) error {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if err := syscall.Kill(pid, sig); err != nil {
			if errors.Is(err, syscall.ESRCH) {
				return nil
			}
			return fmt.Errorf("stop buildkitd (pid %d): %w", pid, err)
		}
		deadline := time.Now().Add(stopTimeout)
		for time.Now().Before(deadline) {
			if !isBuildkitd(pid, root) {
				return nil
			}
			time.Sleep(pollEvery)
		}
	}
	return fmt.Errorf("stop buildkitd (pid %d): still running after SIGKILL", pid)
}

func (d Daemon) logTail() string {
	data, err := os.ReadFile(d.logFile())
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 800 {
		s = s[len(s)-800:]
	}
	if s == "" {
		return ""
	}
	return "; its log (" + d.logFile() + ") ends:\n" + s
}

// config is buildkitd.toml for berth's own daemon: the containerd worker only, on
// berth's snapshotter and namespace, explicit GC limits, a short build history, and
// host networking for RUN (no bridge of its own to leak; `network: none` still works).
func (d Daemon) config() string {
	gc := d.GC
	if gc == (GCLimits{}) {
		gc = DefaultGC
	}
	q := strconv.Quote
	var b strings.Builder
	fmt.Fprintf(&b, "root = %s\n", q(d.Root))
	fmt.Fprintf(&b, "insecure-entitlements = [\"network.host\"]\n\n")
	fmt.Fprintf(&b, "[grpc]\n  address = [%s]\n\n", q(d.address()))
	fmt.Fprintf(&b, "[history]\n  maxAge = %s\n  maxEntries = 20\n\n", q("48h"))
	fmt.Fprintf(&b, "[worker.oci]\n  enabled = false\n\n")
	fmt.Fprintf(&b, "[worker.containerd]\n  enabled = true\n  address = %s\n  namespace = %s\n", q(d.Containerd), q(d.Namespace))
	fmt.Fprintf(&b, "  snapshotter = \"overlayfs\"\n  networkMode = \"host\"\n")
	fmt.Fprintf(&b, "  gc = true\n  reservedSpace = %s\n  maxUsedSpace = %s\n  minFreeSpace = %s\n",
		q(gc.ReservedSpace), q(gc.MaxUsedSpace), q(gc.MinFreeSpace))
	fmt.Fprintf(&b, "\n  [[worker.containerd.gcpolicy]]\n    keepDuration = %s\n    reservedSpace = %s\n    maxUsedSpace = %s\n    minFreeSpace = %s\n",
		q(gc.KeepDuration), q(gc.ReservedSpace), q(gc.MaxUsedSpace), q(gc.MinFreeSpace))
	fmt.Fprintf(&b, "\n  [[worker.containerd.gcpolicy]]\n    all = true\n    reservedSpace = %s\n    maxUsedSpace = %s\n    minFreeSpace = %s\n",
		q(gc.ReservedSpace), q(gc.MaxUsedSpace), q(gc.MinFreeSpace))
	return b.String()
}

// Describe says which buildkitd builds would use, for `berth doctor`: berth's own
// (its binary, and its pid when it runs) or the one at Address (its version).
func (d Daemon) Describe(ctx context.Context) (string, error) {
	if !d.Own() {
		c, err := dial(ctx, d.Address)
		if err != nil {
			return "", fmt.Errorf("buildkitd at %s does not answer: %w", d.Address, err)
		}
		defer c.Close()
		info, err := c.Info(ctx)
		if err != nil {
			return "", err
		}
		return d.Address + " (BuildKit " + info.BuildkitVersion.Version + ")", nil
	}
	bin, err := d.binary()
	if err != nil {
		return "", err
	}
	if pid := d.Running(); pid > 0 {
		return fmt.Sprintf("%s, running (pid %d, %s)", bin, pid, d.address()), nil
	}
	return bin + ", started on the first build", nil
}
