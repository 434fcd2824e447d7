// Package daemon starts berth's helper process on demand, one per data root, and lets
// the helper claim that role. The helper (the berth binary itself, under a hidden
// subcommand) runs the DNS responder of package network/dns; it outlives the command
// that started it, and exits by itself when it has had nothing to do for a while.
//
// Everything lives under DataRoot/helper: helper.lock, which the helper holds with
// flock(2) for as long as it runs (so a helper that was killed frees it at once),
// helper.pid, written once the helper serves (a starter waits for it), helper.log,
// its stdout and stderr, and start.lock, which serializes the starters.
package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

const (
	// readyTimeout is how long Ensure waits for a new helper to report ready.
	readyTimeout = 3 * time.Second
	// holdRetry is how long Acquire keeps trying: Status and Ensure take the helper
	// lock for a moment to see whether it is free.
	holdRetry = time.Second
	// stopTimeout is how long Stop waits after SIGTERM before it sends SIGKILL.
	stopTimeout = 5 * time.Second
	// maxLogSize: a helper.log larger than this is moved to helper.log.1 at start.
	maxLogSize = 1 << 20
	pollEvery  = 10 * time.Millisecond
)

// files are the paths of one data root's helper.
type files struct{ dir, lock, pid, log, start string }

func filesOf(dataRoot string) (files, error) {
	if dataRoot == "" {
		return files{}, errors.New("empty data root")
	}
	root, err := filepath.Abs(dataRoot)
	if err != nil {
		return files{}, fmt.Errorf("data root %q: %w", dataRoot, err)
	}
	dir := filepath.Join(root, "helper")
	return files{
		dir:   dir,
		lock:  filepath.Join(dir, "helper.lock"),
		pid:   filepath.Join(dir, "helper.pid"),
		log:   filepath.Join(dir, "helper.log"),
		start: filepath.Join(dir, "start.lock"),
	}, nil
}

// held reports whether a process holds the helper lock. It takes the lock for a
// moment when it is free, which is why Acquire retries.
func (f files) held() (bool, error) {
	fl := flock.New(f.lock)
	ok, err := fl.TryLock()
	if err != nil {
		return false, fmt.Errorf("probe %s: %w", f.lock, err)
	}
	if ok {
		_ = fl.Unlock()
	}
	return !ok, nil
}

// readPID returns the pid in the pid file, 0 when there is none.
func (f files) readPID() int {
	data, err := os.ReadFile(f.pid)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// ready returns the helper's pid when one holds the lock and has written a live pid.
func (f files) ready() (int, bool, error) {
	held, err := f.held()
	if err != nil || !held {
		return 0, false, err
	}
	pid := f.readPID()
	return pid, pid > 0 && alive(pid), nil
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Status reports the data root's helper: running when a process holds the helper lock,
// and its pid once it has reported ready (0 before).
func Status(dataRoot string) (pid int, running bool) {
	f, err := filesOf(dataRoot)
	if err != nil {
		return 0, false
	}
	held, err := f.held()
	if err != nil || !held {
		return 0, false
	}
	return f.readPID(), true
}

// Stop stops the data root's helper: SIGTERM, then SIGKILL if it has not let go of its
// lock within 5 s. No helper is success.
func Stop(dataRoot string) error {
	f, err := filesOf(dataRoot)
	if err != nil {
		return fmt.Errorf("stop helper: %w", err)
	}
	if _, err := os.Stat(f.dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	unlock, err := lockWait(context.Background(), f.start)
	if err != nil {
		return fmt.Errorf("stop helper: %w", err)
	}
	defer unlock()
	deadline := time.Now().Add(readyTimeout)
	for {
		held, err := f.held()
		if err != nil {
			return fmt.Errorf("stop helper: %w", err)
		}
		if !held {
			return nil
		}
		if pid := f.readPID(); pid > 0 {
			return stopPID(f, pid)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stop helper: %s is held but %s names no process", f.lock, f.pid)
		}
		time.Sleep(pollEvery) // a helper starting up: it writes its pid in a moment
	}
}

// stopPID signals the helper and waits until its lock is free.
func stopPID(f files, pid int) error {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("stop helper (pid %d): %w", pid, err)
		}
		deadline := time.Now().Add(stopTimeout)
		for time.Now().Before(deadline) {
			if held, err := f.held(); err != nil || !held {
				return err
			}
			time.Sleep(pollEvery)
		}
	}
	return fmt.Errorf("stop helper (pid %d): still running after SIGKILL", pid)
}

// lockWait takes a lock file, waiting for it until ctx ends.
func lockWait(ctx context.Context, path string) (func(), error) {
	fl := flock.New(path)
	ok, err := fl.TryLockContext(ctx, pollEvery)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
	}
	return func() { _ = fl.Unlock() }, nil
}

// logTail is the end of the helper's log, for an error message.
func (f files) logTail() string {
	data, err := os.ReadFile(f.log)
	if err != nil {
		return ""
	}
	data = bytes.TrimSpace(data)
	if len(data) > 600 {
		data = data[len(data)-600:]
	}
	return string(data)
}
