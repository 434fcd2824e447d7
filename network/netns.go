package network

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// CreateNetNS creates the container's network namespace as a file under
// /run/berth/netns/<data-root-id>/ on which the namespace is bind-mounted, so that it
// outlives the container's task: a restarted task joins it again and keeps its
// addresses. It returns the existing namespace's path when there is one.
func (m *Manager) CreateNetNS(containerID string) (string, error) {
	if !containerIDPattern.MatchString(containerID) {
		return "", fmt.Errorf("create netns for container %q: invalid container ID", containerID)
	}
	path := m.netNSPath(containerID)
	if isNetNS(path) {
		return path, nil
	}
	if err := createFile(path); err != nil {
		return "", fmt.Errorf("create netns for container %q: %w", containerID, err)
	}
	if err := mountNewNetNS(path); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("create netns for container %q: %w", containerID, err)
	}
	return path, nil
}

// createFile creates the mount point, and its directory, which deleteNetNS removes when
// it empties: a Detach may remove it between MkdirAll and OpenFile, hence the retries.
func createFile(path string) error {
	var err error
	for range 3 {
		if err = os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		var f *os.File
		if f, err = os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o444); err == nil {
			return f.Close()
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return err
}

func (m *Manager) netNSPath(containerID string) string {
	return filepath.Join(m.netnsDir, containerID)
}

// mountNewNetNS unshares a new network namespace on a thread of its own and bind-mounts
// it on path. The thread stays locked, so the Go runtime ends it with the goroutine
// instead of reusing a thread that sits in the wrong namespace.
func mountNewNetNS(path string) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("unshare: %w", err)
			return
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
			done <- fmt.Errorf("bind-mount %s: %w", path, err)
			return
		}
		done <- nil
	}()
	return <-done
}

// isNetNS reports whether path is a live network namespace (a bind-mounted nsfs file).
func isNetNS(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// deleteNetNS unmounts and removes a namespace this Manager created; a path elsewhere
// (/proc/PID/ns/net, another tool's netns) is left alone, and a missing one is success.
func (m *Manager) deleteNetNS(path string) error {
	if path == "" || !strings.HasPrefix(filepath.Clean(path), m.netnsDir+"/") {
		return nil
	}
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil &&
		!errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete netns %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete netns %s: %w", path, err)
	}
	// Fails while other namespaces of the data root are in it, as it should.
	_ = os.Remove(m.netnsDir)
	return nil
}
