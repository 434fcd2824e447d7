package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Ensure makes sure the data root's helper runs: when no live helper holds the helper
// lock it starts argv (argv[0] a path, or a name looked up in PATH) detached from the
// caller (its own session, stdin /dev/null, stdout and stderr appended to
// DataRoot/helper/helper.log; it survives the caller), and waits up to 3 s for it to
// report ready. It returns the helper's pid and whether this call started it. Callers
// are serialized by a lock file, so concurrent calls, in any process, start one helper.
//
// Call it after creating the networks the helper is to serve: a helper that is about
// to exit because it has been idle looks once more for networks (see dns.Lease).
func Ensure(ctx context.Context, dataRoot string, argv []string) (pid int, started bool, err error) {
	if len(argv) == 0 {
		return 0, false, errors.New("start helper: empty command")
	}
	f, err := filesOf(dataRoot)
	if err != nil {
		return 0, false, fmt.Errorf("start helper: %w", err)
	}
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return 0, false, fmt.Errorf("start helper: %w", err)
	}
	unlock, err := lockWait(ctx, f.start)
	if err != nil {
		return 0, false, fmt.Errorf("start helper: %w", err)
	}
	defer unlock()
	var c *child
	deadline := time.Now().Add(readyTimeout)
	for {
		pid, ok, err := f.ready()
		if err != nil {
			return 0, false, fmt.Errorf("start helper: %w", err)
		}
		if ok {
			return pid, c != nil && pid == c.pid, nil
		}
		if c == nil {
			if held, err := f.held(); err == nil && !held {
				if c, err = startChild(f, argv); err != nil {
					return 0, false, fmt.Errorf("start helper %s: %w", argv[0], err)
				}
			}
		} else if exit := c.exited(); exit != nil {
			// It may have lost the lock to a helper that was just exiting and took its
			// lease back (dns.Lease); that one reports ready on the next round.
			if held, _ := f.held(); !held {
				return 0, false, fmt.Errorf("start helper %s: it exited before it was ready: %v%s", argv[0], exit, tail(f))
			}
		}
		if time.Now().After(deadline) {
			if c != nil {
				c.kill()
			}
			return 0, false, fmt.Errorf("start helper %s: not ready after %v%s", argv[0], readyTimeout, tail(f))
		}
		select {
		case <-ctx.Done():
			if c != nil {
				c.kill()
			}
			return 0, false, fmt.Errorf("start helper: %w", ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

func tail(f files) string {
	if t := f.logTail(); t != "" {
		return "; " + f.log + " ends with:\n" + t
	}
	return ""
}

// child is a helper this process started.
type child struct {
	pid  int
	done chan struct{}
	err  error // set before done is closed
}

// startChild starts the helper detached. A goroutine waits for it, so that a helper
// that dies while this process lives is reaped rather than left a zombie.
func startChild(f files, argv []string) (*child, error) {
	path := argv[0]
	if strings.Contains(path, "/") {
		abs, err := filepath.Abs(path) // the helper runs in /, not in our directory
		if err != nil {
			return nil, err
		}
		path = abs
	}
	rotateLog(f.log)
	logFile, err := os.OpenFile(f.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devNull.Close()
	cmd := exec.Command(path, argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devNull, logFile, logFile
	cmd.Dir = "/" // keep no directory of the caller busy
	// A session of its own: no controlling terminal, and out of the caller's process
	// group, so the terminal's SIGINT and SIGHUP do not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		if c.err == nil {
			c.err = errors.New("exit status 0")
		}
		close(c.done)
	}()
	return c, nil
}

// exited returns how the child ended, nil while it runs.
func (c *child) exited() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// kill ends a child that did not get ready, with its whole session.
func (c *child) kill() {
	_ = syscall.Kill(-c.pid, syscall.SIGKILL)
	<-c.done
}

// rotateLog moves a log that has grown large aside, keeping one old one.
func rotateLog(path string) {
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxLogSize {
		_ = os.Rename(path, path+".1")
	}
}
